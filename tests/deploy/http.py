"""A small HTTP client for tests against real servers (nginx, gunicorn): it keeps cookies like
a browser, follows no redirect, and sends forms, including files."""

import http.client
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    content: bytes

    @property
    def text(self):
        return self.content.decode()

    def __getitem__(self, name):
        return self.headers[name]

    def get(self, name, default=None):
        return self.headers.get(name, default)


class Browser:
    """Requests to one server (`base`, e.g. http://127.0.0.1:8080) with a cookie jar of its
    own; `headers` go with every request (X-Forwarded-Proto, say, as a TLS proxy sets it)."""

    def __init__(self, base, headers=None, timeout=20):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.headers = dict(headers or {})
        self.cookies = {}
        self.timeout = timeout

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] not in ("0", 0):
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, data=None, files=None, headers=None):
        """A form: `data` maps names to a value or a list of values; `files` maps names to
        (file name, bytes, content type) and makes it multipart."""
        fields = [
            (name, value)
            for name, values in (data or {}).items()
            for value in (values if isinstance(values, list | tuple) else [values])
        ]
        headers = dict(headers or {})
        if files:
            boundary = secrets.token_hex(16)
            parts = []
            for name, value in fields:
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n".encode()
                )
            for name, (filename, content, content_type) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                    + content
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        else:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.request("POST", path, body=body, headers=headers)
