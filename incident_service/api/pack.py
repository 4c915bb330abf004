"""The auditor's pack over the API: the same ZIP as the web page's download (``reporting.pack``)."""
from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import actor, registry, request_now
from incident_service.extensions import db
from incident_service.reporting import pack

blp = Blueprint("pack", __name__, url_prefix="/api/v1", description="The auditor's pack: a vendor's period as one ZIP")

ZIP_SCHEMA = {"type": "string", "format": "binary"}


@blp.route("/vendors/<int:vendor_id>/pack")
class VendorPack(MethodView):
    @blp.arguments(pack.PackQuerySchema, location="query")
    @blp.response(200, ZIP_SCHEMA, content_type="application/zip",
                  description="A ZIP: history.xlsx, incidents/<id>.pdf, filings.csv, remediation.csv, audit.csv, "
                              "audit-verify.txt and README.txt (every file's SHA-256)")
    @blp.alt_response(404, description="No such vendor", schema="Error")
    @blp.alt_response(503, description="PDFs cannot be made on this server (`pdf_unavailable`)", schema="Error")
    def get(self, args, vendor_id):
        """The vendor's history, every incident aware in the period as its printable record (PDF), their filings
        and remediation, and the audit-trail excerpt with its hashes and the trail's verification. The period is
        whole days in the firm's zone, `from` and `to` included, at most 5 years."""
        config = current_app.config
        built = pack.auditor_pack(session=db.session, vendor_id=vendor_id, period=pack.Period(args["from"], args["to"]),
                                  now=request_now(), zone=registry().zone, registry=registry(), exported_by=actor()[0],
                                  views=current_app.extensions[pack.VIEWS_EXTENSION],
                                  anchor_dir=config["AUDIT_ANCHOR_DIR"], anchor_key=config["AUDIT_ANCHOR_KEY"])
        return Response(built.body, mimetype="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{built.filename}"'})
