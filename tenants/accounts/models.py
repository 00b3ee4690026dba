from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("Une adresse e-mail est obligatoire.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address.

    In the public schema: national operators and support staff (``console_role``).
    In an administration's schema: its agents (``is_administration_admin`` for its admins).
    """

    class ConsoleRole(models.TextChoices):
        NONE = "", "Aucun"
        OPERATOR = "operator", "Opérateur national"
        SUPPORT = "support", "Support"

    email = models.EmailField("adresse e-mail", unique=True)
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150, blank=True)
    is_active = models.BooleanField("actif", default=True)
    is_staff = models.BooleanField("accès à la console", default=False)
    console_role = models.CharField(
        "rôle dans la console", max_length=20, choices=ConsoleRole.choices, default="", blank=True
    )
    is_administration_admin = models.BooleanField("administrateur de l'administration", default=False)
    date_joined = models.DateTimeField("inscrit le", default=timezone.now)
    invited_at = models.DateTimeField("invité le", null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "utilisateur"
        verbose_name_plural = "utilisateurs"
        ordering = ["last_name", "first_name", "email"]

    def __str__(self):
        return self.get_full_name() or self.email

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name or self.email

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def is_operator(self) -> bool:
        return self.is_active and self.is_staff and (
            self.is_superuser or self.console_role == self.ConsoleRole.OPERATOR
        )

    @property
    def is_support(self) -> bool:
        return self.is_active and self.is_staff and (
            self.is_superuser or self.console_role == self.ConsoleRole.SUPPORT
        )
