//! The radiology triage task on IU X-ray reports.
