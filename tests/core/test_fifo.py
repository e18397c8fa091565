"""The model's queue: askers are served in the order they arrived, and told their place."""

import threading
import time
from collections.abc import Iterator

from assistant.llm.fifo import FifoLock, arrival, in_arrival_order


def test_waiters_get_the_lock_in_arrival_order_and_learn_their_place():
    lock = FifoLock()
    lock.acquire()  # someone is being answered
    served: list[int] = []
    places: dict[int, list[int]] = {}
    threads = []
    for n in range(5):
        queued = threading.Event()

        def ask(n: int = n, queued: threading.Event = queued) -> None:
            def on_wait(place: int) -> None:
                places.setdefault(n, []).append(place)
                queued.set()

            with lock.held(on_wait):
                served.append(n)

        thread = threading.Thread(target=ask)
        thread.start()
        assert queued.wait(5)  # in line before the next one arrives
        threads.append(thread)
    assert lock.waiting == 5
    lock.release()
    for thread in threads:
        thread.join(5)
    assert served == [0, 1, 2, 3, 4]
    assert [p[0] for _, p in sorted(places.items())] == [1, 2, 3, 4, 5]
    # The last one was told as it moved up (a wake-up may cover two moves), down to next.
    assert places[4][0] == 5 and places[4][-1] == 1
    assert places[4] == sorted(places[4], reverse=True) and len(places[4]) >= 2
    assert lock.waiting == 0


def test_an_uncontended_lock_is_taken_at_once_and_released():
    lock = FifoLock()
    with lock.held(lambda place: (_ for _ in ()).throw(AssertionError("waited"))):
        pass
    with lock.held():
        assert lock.waiting == 0


def test_with_slots_that_many_are_served_at_once_and_the_rest_wait_in_order():
    lock = FifoLock(slots=3)
    for _ in range(3):
        lock.acquire(lambda place: (_ for _ in ()).throw(AssertionError("waited")))
    assert lock.busy == 3
    served: list[int] = []
    places: dict[int, list[int]] = {}
    threads = []
    for n in range(4):
        queued = threading.Event()

        def ask(n: int = n, queued: threading.Event = queued) -> None:
            def on_wait(place: int) -> None:
                places.setdefault(n, []).append(place)
                queued.set()

            lock.acquire(on_wait)
            served.append(n)

        thread = threading.Thread(target=ask)
        thread.start()
        assert queued.wait(5)
        threads.append(thread)
    assert lock.waiting == 4 and served == []
    lock.release()  # one slot frees: only the head of the line gets it
    threads[0].join(5)
    assert served == [0] and lock.waiting == 3 and lock.busy == 3
    for _ in range(3):
        lock.release()
    for thread in threads:
        thread.join(5)
    assert served == [0, 1, 2, 3] and lock.busy == 3 and lock.waiting == 0
    assert places[3][0] == 4 and places[3][-1] == 1
    for _ in range(3):
        lock.release()
    try:
        lock.release()
    except RuntimeError:
        pass
    else:
        raise AssertionError("a release without an acquire must fail")


def test_the_line_is_ordered_by_arrival_when_the_asker_says_when_it_came():
    """Whoever reaches the line later but arrived earlier (its search took longer) stands
    ahead; one who came without an arrival stands by the time it reached the line."""
    lock = FifoLock()
    lock.acquire()
    asked_first, asked_second = arrival(), arrival()
    served: list[str] = []

    def model(name: str) -> Iterator[str]:
        with lock.held():
            served.append(name)
            yield name

    def ask(name: str, ticket: float | None) -> threading.Thread:
        waiting = lock.waiting
        stream = model(name) if ticket is None else in_arrival_order(model(name), ticket)
        thread = threading.Thread(target=lambda: list(stream))
        thread.start()
        deadline = time.monotonic() + 5
        while lock.waiting == waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        return thread

    threads = [ask("second", asked_second), ask("untimed", None), ask("first", asked_first)]
    lock.release()
    for thread in threads:
        thread.join(5)
    assert served == ["first", "second", "untimed"]
