/// The echo upstream's own OpenAPI document, served at `GET /openapi.json`: `make run`'s demo API points its
/// `openapiUrl` at it, so the portal shows a rendered document out of the box.
enum EchoDocument {
    static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Portico demo echo",
            "version": "1.0.0",
            "description": "Answers every request with a description of what it received, so you can see what the gateway forwards: the path, the query and the headers, among them `X-Portico-User` and `X-Portico-Groups`."
          },
          "tags": [{"name": "echo", "description": "What the upstream received."}],
          "paths": {
            "/hello": {
              "get": {
                "tags": ["echo"], "operationId": "hello", "summary": "Say hello",
                "description": "The simplest call: the answer shows what reached the upstream.",
                "parameters": [
                  {"name": "delay_ms", "in": "query", "description": "Wait this many milliseconds first (at most 60 000), to see the gateway's 504.", "schema": {"type": "integer", "minimum": 0, "maximum": 60000}}
                ],
                "responses": {"200": {"description": "What the upstream received.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Echo"}}}}}
              }
            },
            "/{path}": {
              "parameters": [{"name": "path", "in": "path", "required": true, "description": "Any path.", "schema": {"type": "string"}}],
              "get": {
                "tags": ["echo"], "operationId": "echoGet", "summary": "Echo a request",
                "responses": {"200": {"description": "What the upstream received.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Echo"}}}}}
              },
              "post": {
                "tags": ["echo"], "operationId": "echoPost", "summary": "Echo a body",
                "description": "The body comes back as it was sent, with its content type.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}, "example": {"greeting": "hello"}}}},
                "responses": {"200": {"description": "The same body."}}
              }
            }
          },
          "components": {
            "schemas": {
              "Echo": {
                "type": "object", "required": ["method", "path", "query", "headers"],
                "properties": {
                  "method": {"type": "string", "example": "GET"},
                  "path": {"type": "string", "description": "The path the upstream got: the gateway strips the API's prefix when it is set to."},
                  "query": {"type": "string"},
                  "headers": {"type": "object", "description": "The request's fields, by name.", "additionalProperties": {"type": "string"}}
                }
              }
            }
          }
        }
        """#
}
