"""BaseApi answers a ClientError with the status and body the error carries, whichever app raised it;
an API whose ?format= names a file format keeps it from DRF's renderer choice."""

from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from annotation.pipeline.readers import ImportRowError
from common.api import BaseApi, FormatParamIsDataNegotiation
from common.errors import ClientError
from governance.keyring import DataShredded


def _answer(error: Exception):
    class RaisingApi(BaseApi):
        permission_classes = []
        authentication_classes = []

        def get(self, request):
            raise error

    return RaisingApi.as_view()(APIRequestFactory().get("/"))


def test_a_client_error_is_answered_with_its_status_and_detail_not_a_server_error():
    class Conflict(ClientError):
        status_code = 409

    response = _answer(Conflict("The name is taken; choose another."))
    assert (response.status_code, response.data) == (409, {"detail": "The name is taken; choose another."})


def test_a_bad_import_row_is_answered_400_with_where_it_is_and_why():
    error = ImportRowError(filename="items.csv", row=3, field="text", message="empty text")
    response = _answer(error)
    assert response.status_code == 400
    assert response.data == {
        "detail": "items.csv, row 3, field 'text': empty text",
        "error": {"file": "items.csv", "member": "", "row": 3, "field": "text", "message": "empty text",
                  "fatal": False},
    }


def test_shredded_data_is_answered_410_gone_saying_so():
    response = _answer(DataShredded(project_id=1, shredded_at=None, shredded_by="alice"))
    assert response.status_code == 410
    assert "crypto-shredded" in response.data["detail"] and "alice" in response.data["detail"]


def test_format_param_is_data_negotiation_leaves_the_format_parameter_to_the_view():
    class FileApi(BaseApi):
        permission_classes = []
        authentication_classes = []
        content_negotiation_class = FormatParamIsDataNegotiation

        def get(self, request):
            return Response({"format": request.query_params["format"]})

    # Without it DRF would look for a renderer called "conll" and answer 404.
    response = FileApi.as_view()(APIRequestFactory().get("/", {"format": "conll"}))
    assert (response.status_code, response.data) == (200, {"format": "conll"})
