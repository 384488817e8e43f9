"""django-wm's own endpoint at /webmention/; POST /process runs its `mentions_pending`
command (what a cron job runs on a site without Celery); /recorded: what django-wm
stored, as JSON (read through its models, for the test to compare)."""

from django.core.management import call_command
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from mentions.models import PendingIncomingWebmention, Webmention


def recorded(request: HttpRequest) -> JsonResponse:
    mentions = []
    for wm in Webmention.objects.order_by("id"):
        card = wm.hcard
        mentions.append({
            "source": wm.source_url, "target": wm.target_url, "post_type": wm.post_type,
            "validated": wm.validated, "approved": wm.approved, "notes": wm.notes,
            "hcard": {"name": card.name, "avatar": card.avatar, "homepage": card.homepage} if card else None,
        })
    pending = [{"source": p.source_url, "target": p.target_url, "attempts": p.retry_attempt_count,
                "awaiting_retry": p.is_awaiting_retry, "succeeded": p.is_retry_successful}
               for p in PendingIncomingWebmention.objects.order_by("id")]
    return JsonResponse({"webmentions": mentions, "pending": pending})


@csrf_exempt
def process(request: HttpRequest) -> HttpResponse:
    call_command("mentions_pending")
    return HttpResponse("processed\n")


urlpatterns = [
    path("process", process),
    path("webmention/", include("mentions.urls")),
    path("recorded", recorded),
]
