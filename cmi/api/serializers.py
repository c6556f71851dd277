from rest_framework import serializers


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TokenResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField(help_text="Shown once. Send as `Authorization: Bearer <token>`.")
    prefix = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    class _Error(serializers.Serializer):
        code = serializers.CharField()
        detail = serializers.CharField()
        field = serializers.CharField(allow_null=True)

    error = _Error()
