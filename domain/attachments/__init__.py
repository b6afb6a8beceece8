"""Attachments: files on any document (a claim's receipts, a contract, a purchase order, a supplier bill, a form
request), stored content-addressed (storage), accepted by what their content is, never their name (types), and
served only to those who may see the document (domain.approvals.access.may_see_document)."""
