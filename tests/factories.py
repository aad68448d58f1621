import factory

from accounts.models import Membership, Nation, Organisation, OrganisationKind, Role, RoleGrant, StaffType, User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@school.example")
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def confirmed(self, create, extracted, **kwargs):
        """Addresses are confirmed unless a test says otherwise (``UserFactory(confirmed=False)``)."""
        if create and extracted is not False:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")
    kind = OrganisationKind.SCHOOL
    nation = Nation.ENGLAND
    email_domains = "school.example"
    require_mfa = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    staff_type = StaffType.EMPLOYEE
    job_title = "Teacher"

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in {Role.STAFF, *(extracted or [])}:
            RoleGrant.objects.get_or_create(membership=self, role=role)


def member(organisation, *roles, email=None, **fields) -> User:
    """A person holding ``roles`` (and always 'staff') in ``organisation``."""
    user = UserFactory(**({"email": email} if email else {}))
    MembershipFactory(user=user, organisation=organisation, roles=roles, **fields)
    return user
