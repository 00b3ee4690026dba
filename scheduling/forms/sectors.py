"""Forms of the sectorisation screens (sectors, zones, attributions, CSV import, test of an address)."""

from __future__ import annotations

from django import forms

from ..models import Agent, AgentRole, Organisation, Sector, SectorAttribution, Zone


class SectorForm(forms.ModelForm):
    class Meta:
        model = Sector
        fields = ["name", "code"]
        help_texts = {"code": "Lettres minuscules, chiffres et tirets, par exemple « valence-nord ». "
                              "Sert à l'import CSV."}
        error_messages = {"name": {"required": "Indiquez le nom du secteur."},
                          "code": {"required": "Indiquez l'identifiant du secteur.",
                                   "invalid": "L'identifiant ne contient que des lettres, chiffres, tirets ou _."}}


class ZoneForm(forms.ModelForm):
    class Meta:
        model = Zone
        fields = ["level", "city_code", "city_name", "street_ban_id", "street_name"]
        help_texts = {"street_ban_id": "Seulement pour une rue, par exemple 26362_0100.",
                      "city_code": "5 caractères, par exemple 26362."}
        error_messages = {"city_code": {"required": "Indiquez le code INSEE de la commune."},
                          "city_name": {"required": "Indiquez le nom de la commune."}}

    def __init__(self, *args, sector: Sector, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.sector = sector

    def clean(self):
        data = super().clean()
        if data.get("level") == Zone.Level.STREET and not data.get("street_ban_id"):
            self.add_error("street_ban_id", "Une zone « rue » a besoin de l'identifiant BAN de la rue.")
        if data.get("level") == Zone.Level.CITY:
            data["street_ban_id"] = ""
            data["street_name"] = ""
            self.instance.street_ban_id = ""
            self.instance.street_name = ""
        return data


class AttributionForm(forms.Form):
    organisation = forms.ModelChoiceField(label="Organisation", queryset=Organisation.objects.none(),
                                          error_messages={"required": "Choisissez une organisation.",
                                                          "invalid_choice": "Cette organisation n'existe pas."})
    agent = forms.ModelChoiceField(label="Agent (facultatif : sinon toute l'organisation)", required=False,
                                   queryset=Agent.objects.none(),
                                   error_messages={"invalid_choice": "Cet agent n'existe pas."})

    def __init__(self, *args, sector: Sector, **kwargs):
        super().__init__(*args, **kwargs)
        self.sector = sector
        self.fields["organisation"].queryset = Organisation.objects.order_by("name")
        self.fields["agent"].queryset = Agent.objects.filter(deleted_at__isnull=True).order_by("last_name",
                                                                                               "first_name")

    def clean(self):
        data = super().clean()
        organisation, agent = data.get("organisation"), data.get("agent")
        if organisation and agent and not AgentRole.objects.filter(agent=agent, organisation=organisation).exists():
            self.add_error("agent", "Cet agent n'est pas membre de cette organisation.")
        if organisation and not self.errors:
            exists = SectorAttribution.objects.filter(sector=self.sector, organisation=organisation, agent=agent)
            if exists.exists():
                raise forms.ValidationError("Ce secteur est déjà attribué ainsi.")
        return data


class ZoneImportForm(forms.Form):
    file = forms.FileField(label="Fichier CSV des zones",
                           help_text="Colonnes : secteur;niveau;code_insee;commune;identifiant_rue;rue (UTF-8).",
                           error_messages={"required": "Choisissez un fichier CSV.", "empty": "Ce fichier est vide."})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("Ce fichier dépasse 5 Mo.")
        raw = upload.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Ce fichier n'est pas en UTF-8 : enregistrez-le en « CSV UTF-8 ».") from None


class AddressTestForm(forms.Form):
    q = forms.CharField(label="Adresse à tester", max_length=200, min_length=3,
                        error_messages={"required": "Indiquez une adresse.",
                                        "min_length": "Indiquez au moins 3 caractères."})
