"""Every model, imported in one place so the metadata and Alembic see the whole schema."""
from incident_service.audit.models import AuditChainHead, AuditEntry  # noqa: F401
from incident_service.auth.models import ApiToken, User  # noqa: F401
from incident_service.engine.models import EngineHeartbeat  # noqa: F401
from incident_service.incidents.models import Incident, Remediation, TimelineEvent  # noqa: F401
from incident_service.notify.models import Channel, NotifyEvent, OutboxMessage, Preference, RoutingRule  # noqa: F401
from incident_service.reporting.models import Deadline, DeadlineAlert, Filing, Notification  # noqa: F401
from incident_service.vendors.models import Certification, Contract, ContractSystem, System, Vendor  # noqa: F401
from incident_service.vendors.access import AccessGrant, AccessReview, AccessReviewItem  # noqa: F401
from incident_service.vendors.duties import VendorDuty  # noqa: F401
from incident_service.vendors.termination import Termination, TerminationItem  # noqa: F401
