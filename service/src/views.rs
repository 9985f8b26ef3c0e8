//! The shapes the HTTP API speaks: requests, approvals, history steps, grants, audit pages,
//! report rows. The store builds them, the API and the pages show them, the CLI reads them
//! back (`client`), so each derives both `Serialize` and `Deserialize`.

use crate::error::{Result, ServiceError};
use jitgate::wire::{self, AuditEvent};
use serde::{Deserialize, Serialize};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Denied,
    Cancelled,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Result<Status> {
        Ok(match s {
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "denied" => Status::Denied,
            "cancelled" => Status::Cancelled,
            "expired" => Status::Expired,
            _ => {
                return Err(ServiceError::BadInput(format!(
                    "unknown status `{s}`: use pending, approved, denied, cancelled or expired"
                )))
            }
        })
    }
}

/// A request as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestView {
    pub id: String,
    pub status: Status,
    pub user: String,
    pub groups: Vec<String>,
    pub resources: Vec<String>,
    pub actions: Vec<String>,
    pub duration: String,
    pub reason: String,
    pub ticket: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub zones: Vec<String>,
    pub approvals: Vec<ApprovalView>,
    /// Who denied or cancelled it.
    pub decided_by: Option<String>,
    /// The reason given with a denial.
    pub decision_reason: Option<String>,
    /// The grant will be consumed by one use.
    pub single_use: bool,
    /// When the grant's window starts, when later than its approval.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// The grant this request asks to extend (`jitgate extend`); once approved, `grant` is it.
    #[serde(default)]
    pub extends: Option<String>,
    pub grant: Option<GrantView>,
    /// Every step of the request, oldest first.
    pub history: Vec<EventView>,
}

/// One step in a request's life: `created`, `approved` (one approver), `auto-approved`,
/// `granted`, `denied`, `cancelled`, `expired`, `escalated`, `revoked`, `released`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventView {
    pub time: String,
    pub actor: String,
    pub event: String,
    pub comment: Option<String>,
}

/// One approver's approval of a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalView {
    pub approver: String,
    pub comment: String,
    pub time: String,
    /// The zones this approval counts for (those the approver is an approver of).
    pub zones: Vec<String>,
}

/// A grant as the API shows it: the feed's grant plus its revocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantView {
    #[serde(flatten)]
    pub grant: wire::Grant,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    /// The revocation was the grantee giving the grant up early.
    pub released: bool,
    /// When a single-use grant was used, and by which query (the plugin's context).
    pub consumed_at: Option<String>,
    pub consumed_by: Option<String>,
}

/// A page of audit events and, when more follow, where the next page starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// `<time>.<rowid>` of the last event: pass it as `after` for the next page.
    pub next: Option<String>,
}

/// One access in an auditor's report: the audited decision with the grant, request, reason
/// and approvers behind it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportRow {
    pub time: String,
    pub user: String,
    pub resource: String,
    pub action: String,
    pub decision: String,
    pub plugin: String,
    pub operation: Option<String>,
    pub context: Option<String>,
    pub grant_id: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub approvers: Vec<String>,
    pub requested_at: Option<String>,
    pub granted_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

/// One link's place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub seq: i64,
    pub prev: String,
    pub hash: String,
}

/// What the audit chain's check (`chain::verify`) found.
#[derive(Debug, Serialize, Deserialize)]
pub struct Verdict {
    pub ok: bool,
    /// Links walked.
    pub links: i64,
    /// The newest link, as the chain's head.
    pub head: Option<Link>,
    /// Rows stored before the chain began (older databases).
    pub unchained: i64,
    /// The first link that does not hold, and why.
    pub broken: Option<Broken>,
    /// Whether the expected head (`--expect`) is a link of the chain; null when none was given.
    pub expected_found: Option<bool>,
}

/// The first link of the chain that does not hold.
#[derive(Debug, Serialize, Deserialize)]
pub struct Broken {
    pub seq: i64,
    /// `audit event <id>` or `history step of <request> at <time>`.
    pub record: String,
    pub why: String,
}

/// What the plugins would decide right now (`GET /v1/check`, `jitgate check`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckView {
    /// Whose access was decided.
    pub user: String,
    pub resource: String,
    pub actions: Vec<String>,
    pub decision: CheckDecision,
    /// The grants that allow it (allow only).
    pub grants: Vec<CheckGrant>,
    /// When the first of those grants ends (allow only).
    pub expires_at: Option<String>,
    /// Why it is denied, in the words of the plugins' denial message (deny only).
    pub reason: Option<String>,
    /// The zones the resource lies in, in the order the config lists them.
    pub zones: Vec<CheckZone>,
    /// The request form prefilled for this resource and these actions (deny only).
    pub request_url: Option<String>,
    /// The denial message a plugin would show (deny only).
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDecision {
    Allow,
    Deny,
    /// In no zone: the engine's own permissions apply.
    NotProtected,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckGrant {
    pub id: String,
    pub request_id: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckZone {
    pub name: String,
    /// The groups whose members approve requests in it.
    pub approvers: Vec<String>,
    /// How many distinct approvers a request needs.
    pub approvals: u32,
}
