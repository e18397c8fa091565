"""The model's queue: askers are served in the order they arrived, and told their place."""

import threading

from assistant.llm.fifo import FifoLock


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
