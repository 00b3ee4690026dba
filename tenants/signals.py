from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Administration, Domain
from .resolution import clear_cache


@receiver([post_save, post_delete], sender=Administration)
@receiver([post_save, post_delete], sender=Domain)
def _forget_resolutions(**kwargs):
    clear_cache()
