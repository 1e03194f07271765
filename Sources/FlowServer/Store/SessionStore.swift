// `StoredSession`, `SessionStore` and `SessionStoreError` live in their own small target,
// FlowSessionStore, so that a store outside FlowServer (FlowPostgres) implements the same
// protocol on the same value without depending on the server. Re-exported: FlowServer and
// whoever imports it use them as if they were declared here.
@_exported import FlowSessionStore
