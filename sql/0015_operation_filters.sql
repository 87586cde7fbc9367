-- Operation filters on grants (Traefik Hub's operationFilter): which operations of an API a grant covers, by the
-- API document's tags or operation ids, or by method and path pattern. NULL covers every operation.
ALTER TABLE api_access ADD COLUMN operation_filter jsonb
    CHECK (operation_filter IS NULL OR jsonb_typeof(operation_filter) = 'object');

-- Each document's operations (method, path template, operation id, tags), read out when it is saved, so that the
-- gateways compile filters without parsing OpenAPI. NULL for a document saved before this migration: the next
-- save of the document, or of a grant naming its tags, fills it in.
ALTER TABLE api_documents ADD COLUMN operations jsonb
    CHECK (operations IS NULL OR jsonb_typeof(operations) = 'array');

-- A new document can change what a filter covers: the gateways read the policy's structure again.
CREATE TRIGGER api_documents_policy AFTER INSERT OR UPDATE OR DELETE ON api_documents
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('api', 'api_id');
