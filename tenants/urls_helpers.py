from django.conf import settings


def absolute_url(host: str, path: str = "/") -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{host}{port}{path}"


def platform_url(path: str = "/") -> str:
    return absolute_url(settings.BASE_DOMAIN, path)
