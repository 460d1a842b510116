"""Errors about the client's input or data that carry the status and body the API answers with."""


class ClientError(Exception):
    """An error the API answers with ``status_code`` and ``response_data()``, not a server error."""

    status_code = 400

    def response_data(self) -> dict:
        return {"detail": str(self)}
