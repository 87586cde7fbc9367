-- An API's OpenAPI document, uploaded or fetched from `openapi_url`, as the portal renders and serves it. The
-- source is kept as given (JSON or YAML); the facts the lists show are read out once, when it is saved.
ALTER TABLE apis ADD COLUMN openapi_url text;

CREATE TABLE api_documents (
    api_id uuid PRIMARY KEY REFERENCES apis (id) ON DELETE CASCADE,
    format text NOT NULL CHECK (format IN ('json', 'yaml')),
    source text NOT NULL,
    openapi_version text NOT NULL,
    title text NOT NULL,
    document_version text NOT NULL,
    operation_count integer NOT NULL CHECK (operation_count >= 0),
    sha256 text NOT NULL,
    fetched_from text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
