"""Forms of the usager records (back office). Every choice comes from the policy's querysets, so an id the
agent may not see is a French field error, never a lookup of something else."""

from __future__ import annotations

from datetime import date

from django import forms

from .. import policy
from ..models import Agent, AgentRole, Citizen, Organisation
from ..phones import to_e164

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
INVALID_DATE = "Saisissez une date valide (jj/mm/aaaa)."
INVALID_PHONE = "Numéro de téléphone invalide : saisissez par exemple 06 12 34 56 78 ou +262 692 12 34 56."
INVALID_EMAIL = "Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr."
UNKNOWN_CITIZEN = "Usager introuvable : choisissez-le dans la liste."


class CitizenChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": UNKNOWN_CITIZEN, "required": "Choisissez un usager."})
        super().__init__(queryset=Citizen.objects.none(), **kwargs)


class CitizenForm(forms.ModelForm):
    """Identity, contact details and notification choices of a usager."""

    # Typed as people write it ("+262 (0)6 92 12 34 56"): longer than the stored E.164 form.
    phone = forms.CharField(label="Téléphone", required=False, max_length=40,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))

    class Meta:
        model = Citizen
        fields = ["first_name", "last_name", "birth_name", "birth_date", "email", "phone", "address", "city_code",
                  "notify_by_email", "notify_by_sms"]
        labels = {"phone": "Téléphone", "city_code": "Code INSEE de la commune"}
        widgets = {"birth_date": DATE_INPUT}
        error_messages = {
            "first_name": {"required": "Indiquez le prénom."},
            "last_name": {"required": "Indiquez le nom."},
            "email": {"invalid": INVALID_EMAIL},
            "birth_date": {"invalid": INVALID_DATE},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["birth_date"].input_formats = DATE_FORMATS
        if "phone" in self.fields:
            self.fields["phone"].help_text = "Un numéro français ou international ; il sert aux rappels par SMS."
            self.fields["city_code"].help_text = "Cinq caractères, par exemple 75056 ; laissez vide si inconnu."

    def clean_phone(self):
        value = (self.cleaned_data.get("phone") or "").strip()
        if not value:
            return ""
        e164 = to_e164(value)
        if e164 is None:
            raise forms.ValidationError(INVALID_PHONE)
        return e164

    def clean_birth_date(self):
        value = self.cleaned_data.get("birth_date")
        if value is None:
            return value
        today = date.today()
        if value > today:
            raise forms.ValidationError("La date de naissance ne peut pas être dans le futur.")
        if value.year < today.year - 130:
            raise forms.ValidationError("La date de naissance est trop ancienne (plus de 130 ans).")
        return value

    def clean_city_code(self):
        value = (self.cleaned_data.get("city_code") or "").strip().upper()
        if value and (len(value) != 5 or not value.isalnum()):
            raise forms.ValidationError("Le code INSEE compte cinq caractères, par exemple 75056 ou 2A004.")
        return value

    def _post_clean(self):
        # The services validate and save; the form only checks the fields (the model's clean would also
        # validate the responsible, which these forms do not set).
        pass

    def data_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class CitizenCreateForm(CitizenForm):
    organisation = forms.ModelChoiceField(
        label="Organisation", queryset=Organisation.objects.none(), empty_label=None,
        error_messages={"invalid_choice": "Choisissez une de vos organisations.",
                        "required": "Choisissez une organisation."},
    )
    confirm_not_duplicate = forms.BooleanField(
        label="Je confirme qu'il s'agit d'une autre personne que les fiches ci-dessus", required=False,
    )

    def __init__(self, *args, scope: policy.Scope, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = policy.organisations(scope).order_by("name")
        self.fields["organisation"].queryset = organisations
        self.fields["organisation"].label_from_instance = lambda organisation: organisation.name
        self.single_organisation = organisations.count() == 1
        if self.single_organisation:
            self.only_organisation = organisations.first()
            self.fields["organisation"].initial = self.only_organisation
            self.fields["organisation"].widget = forms.HiddenInput()
            self.fields["organisation"].required = False

    def clean_organisation(self):
        organisation = self.cleaned_data.get("organisation")
        if organisation is None and self.single_organisation:
            return self.only_organisation
        return organisation


class RelativeForm(CitizenForm):
    """A relative (a child, a person in his care): names and birth date, contact through the responsible."""

    phone = None

    class Meta(CitizenForm.Meta):
        fields = ["first_name", "last_name", "birth_date"]


class ResponsibleForm(forms.Form):
    responsible = CitizenChoiceField(label="Responsable")

    def __init__(self, *args, scope: policy.Scope, citizen: Citizen, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = policy.citizens(scope).exclude(pk=citizen.pk)


class ReferentForm(forms.Form):
    agent = forms.ModelChoiceField(
        label="Agent référent", queryset=Agent.objects.none(), empty_label="Choisir un agent",
        error_messages={"invalid_choice": "Choisissez un agent d'une organisation de cet usager.",
                        "required": "Choisissez un agent."},
    )

    def __init__(self, *args, scope: policy.Scope, citizen: Citizen, **kwargs):
        super().__init__(*args, **kwargs)
        shared = set(citizen.organisations.values_list("pk", flat=True)) & scope.organisation_ids
        members = AgentRole.objects.filter(organisation_id__in=shared).values("agent_id")
        self.fields["agent"].queryset = (
            policy.agents(scope).filter(pk__in=members).exclude(pk__in=citizen.referents.values("pk"))
            .order_by("last_name", "first_name")
        )


class MergeForm(forms.Form):
    merged = CitizenChoiceField(label="Fiche à fusionner", widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="Je confirme la fusion : la fiche en double sera supprimée", required=True,
        error_messages={"required": "Cochez la case pour confirmer la fusion."},
    )

    def __init__(self, *args, scope: policy.Scope, kept: Citizen, **kwargs):
        super().__init__(*args, **kwargs)
        self.kept = kept
        self.fields["merged"].queryset = policy.citizens(scope)

    def clean_merged(self):
        merged = self.cleaned_data["merged"]
        if merged.pk == self.kept.pk:
            raise forms.ValidationError("Une fiche ne se fusionne pas avec elle-même : choisissez une autre fiche.")
        return merged


class RemoveFromOrganisationForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label="Organisation", queryset=Organisation.objects.none(), empty_label=None,
        error_messages={"invalid_choice": "Cet usager n'est pas rattaché à cette organisation.",
                        "required": "Choisissez une organisation."},
    )

    def __init__(self, *args, scope: policy.Scope, citizen: Citizen, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            citizen.organisations.filter(pk__in=scope.organisation_ids).order_by("name")
        )
        self.fields["organisation"].label_from_instance = lambda organisation: organisation.name


class CitizenSearchForm(forms.Form):
    q = forms.CharField(label="Rechercher un usager", required=False, max_length=200,
                        help_text="Nom, prénom, e-mail ou téléphone, sans se soucier des accents ni des majuscules.")
