from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class UpdatedCursorPagination(CursorPagination):
    """For feeds that clients poll: stable under inserts, newest changes last."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("updated_at", "id")
