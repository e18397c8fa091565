"""Mail made by the tests."""


def nested_mime(levels: int) -> bytes:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(levels)
    )
    tail = "".join(f"\n--b{i}--\n" for i in reversed(range(levels)))
    return f"From: x@example.com\nSubject: deep\nMIME-Version: 1.0\n{head}\nhello{tail}".encode()
