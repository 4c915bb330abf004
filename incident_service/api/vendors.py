"""REST endpoints for vendors, systems and contracts: parse, call one service function, serialize."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, expected_version, registry, request_now, vendor_catalogues
from incident_service.cases import vendors as vendor_cases
from incident_service.extensions import db
from incident_service.vendors import schemas, service

blp = Blueprint("vendors", __name__, url_prefix="/api/v1", description="Vendors, systems and contracts")


@blp.route("/vendors")
class Vendors(MethodView):
    @blp.arguments(schemas.VendorQuerySchema, location="query")
    @blp.response(200, schemas.VendorSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """List vendors (filter by category, name or tax id)."""
        return service.vendors_query(**args)

    @blp.arguments(schemas.VendorCreateSchema)
    @blp.response(201, schemas.VendorSchema)
    def post(self, data):
        """Register a vendor."""
        return vendor_cases.create_vendor(session=db.session, registry=registry(), data=data, now=request_now())


@blp.route("/vendors/<int:vendor_id>")
class VendorById(MethodView):
    @blp.response(200, schemas.VendorSchema)
    def get(self, vendor_id):
        """One vendor."""
        return service.get_vendor(session=db.session, vendor_id=vendor_id)

    @blp.arguments(schemas.VendorUpdateSchema)
    @blp.response(200, schemas.VendorSchema)
    def patch(self, data, vendor_id):
        """Change a vendor; send the `version` you read (or If-Match)."""
        version = expected_version(data)
        return vendor_cases.update_vendor(session=db.session, registry=registry(), vendor_id=vendor_id, data=data, expected_version=version, now=request_now())


@blp.route("/systems")
class Systems(MethodView):
    @blp.arguments(schemas.SystemQuerySchema, location="query")
    @blp.response(200, schemas.SystemSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """List systems."""
        return service.systems_query(**args)

    @blp.arguments(schemas.SystemCreateSchema)
    @blp.response(201, schemas.SystemSchema)
    def post(self, data):
        """Register a system (資通系統) with its RTO and RPO."""
        return vendor_cases.create_system(session=db.session, registry=registry(), data=data, now=request_now())


@blp.route("/systems/<int:system_id>")
class SystemById(MethodView):
    @blp.response(200, schemas.SystemSchema)
    def get(self, system_id):
        """One system."""
        return service.get_system(session=db.session, system_id=system_id)

    @blp.arguments(schemas.SystemUpdateSchema)
    @blp.response(200, schemas.SystemSchema)
    def patch(self, data, system_id):
        """Change a system; send the `version` you read (or If-Match)."""
        version = expected_version(data)
        return vendor_cases.update_system(session=db.session, registry=registry(), system_id=system_id, data=data, expected_version=version, now=request_now())


@blp.route("/contracts")
class Contracts(MethodView):
    @blp.arguments(schemas.ContractQuerySchema, location="query")
    @blp.response(200, schemas.ContractSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """List contracts (filter by vendor, covered system, in force on a date)."""
        return service.contracts_query(**args)

    @blp.arguments(schemas.ContractCreateSchema)
    @blp.response(201, schemas.ContractSchema)
    def post(self, data):
        """Register a contract with its service levels."""
        return vendor_cases.create_contract(session=db.session, registry=registry(), clauses=vendor_catalogues().clauses,
                                            data=data, now=request_now())


@blp.route("/contracts/<int:contract_id>")
class ContractById(MethodView):
    @blp.response(200, schemas.ContractSchema)
    def get(self, contract_id):
        """One contract."""
        return service.get_contract(session=db.session, contract_id=contract_id)

    @blp.arguments(schemas.ContractUpdateSchema)
    @blp.response(200, schemas.ContractSchema)
    def patch(self, data, contract_id):
        """Change a contract; send the `version` you read (or If-Match)."""
        version = expected_version(data)
        return vendor_cases.update_contract(session=db.session, registry=registry(), clauses=vendor_catalogues().clauses,
                                            contract_id=contract_id, data=data, expected_version=version, now=request_now())
