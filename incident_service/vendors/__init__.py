"""Vendors (資訊服務供應商), their contracts and the systems (資通系統) those contracts cover."""
