/// The OpenAPI 3 description served at `GET /v1/openapi.json`. `OpenAPITests` checks it against
/// the server's answers (and schemathesis, in the tests, checks every answer against it).
enum OpenAPI {
    /// The document, with the names of the flows served as the values `flow` can take.
    static func document(flows: [String]) -> String {
        template.replacingOccurrences(of: "\"FLOW_NAMES\"", with: "[" + flows.map(quote).joined(separator: ", ") + "]")
    }

    static let template = #"""
        {
          "openapi": "3.0.3",
          "info": {
            "title": "flow serve",
            "version": "1",
            "description": "Runs flows for many clients at once. A client starts a session of a flow, shows the page it asks, sends the answers (or the result of an extension it ran), and so on until the outcome. Every step carries a version: send it back with the next step; a stale or repeated one gets 409 and the current step."
          },
          "paths": {
            "/v1/health": {
              "get": {
                "operationId": "health",
                "summary": "Whether the server is up",
                "responses": {
                  "200": {"description": "Up", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}
                }
              }
            },
            "/v1/metrics": {
              "get": {
                "operationId": "metrics",
                "summary": "Counters and latency histograms in the Prometheus text format",
                "responses": {
                  "200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}
                }
              }
            },
            "/v1/openapi.json": {
              "get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {
                  "200": {"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}
                }
              }
            },
            "/v1/flows": {
              "get": {
                "operationId": "listFlows",
                "summary": "The flows that can be started",
                "responses": {
                  "200": {"description": "Flows by name", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Flows"}}}}
                }
              }
            },
            "/v1/sessions": {
              "post": {
                "operationId": "createSession",
                "summary": "Start a session of a flow",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateSession"}}}},
                "responses": {
                  "201": {"description": "Started: what the session needs first", "headers": {"Location": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}},
                    "links": {
                      "GetSession": {"operationId": "getSession", "parameters": {"id": "$response.body#/id"}},
                      "Step": {"operationId": "step", "parameters": {"id": "$response.body#/id"}},
                      "DeleteSession": {"operationId": "deleteSession", "parameters": {"id": "$response.body#/id"}}
                    }},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "413": {"$ref": "#/components/responses/TooLarge"},
                  "415": {"$ref": "#/components/responses/NotJSON"},
                  "422": {"$ref": "#/components/responses/Unprocessable"},
                  "500": {"$ref": "#/components/responses/Internal"}
                }
              }
            },
            "/v1/sessions/{id}": {
              "parameters": [{"$ref": "#/components/parameters/SessionID"}],
              "get": {
                "operationId": "getSession",
                "summary": "Where the session stands: the same answer as its last step, or 'working' while a call it made is in progress",
                "responses": {
                  "200": {"description": "The current step", "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "500": {"$ref": "#/components/responses/Internal"}
                }
              },
              "delete": {
                "operationId": "deleteSession",
                "summary": "End the session",
                "responses": {
                  "204": {"description": "Deleted"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "500": {"$ref": "#/components/responses/Internal"}
                }
              }
            },
            "/v1/sessions/{id}/steps": {
              "parameters": [{"$ref": "#/components/parameters/SessionID"}],
              "post": {
                "operationId": "step",
                "summary": "Answer what the session asked: a page's answers, back, or an extension's result",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Step"}}}},
                "responses": {
                  "200": {"description": "Applied (answers the page refused come back as the page with its problems)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"description": "The version is stale or was answered already (staleVersion), or a call the session made is still in progress (callInProgress); nothing was applied", "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Conflict"}}}},
                  "413": {"$ref": "#/components/responses/TooLarge"},
                  "415": {"$ref": "#/components/responses/NotJSON"},
                  "422": {"$ref": "#/components/responses/Unprocessable"},
                  "500": {"$ref": "#/components/responses/Internal"}
                }
              }
            }
          },
          "components": {
            "headers": {
              "RetryAfter": {"description": "Only while the session is working (a call it made is in progress): seconds to wait before reading it again", "schema": {"type": "integer", "minimum": 0}}
            },
            "parameters": {
              "SessionID": {"name": "id", "in": "path", "required": true, "description": "The id given when the session was created (192 random bits; whoever has it drives the session)", "schema": {"type": "string"}}
            },
            "responses": {
              "BadRequest": {"description": "Malformed: not JSON, a field missing, of the wrong kind or unknown", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "NotFound": {"description": "No such session (or it expired) or flow", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "TooLarge": {"description": "The body is over the limit", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "NotJSON": {"description": "The body is not sent as application/json", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "Unprocessable": {"description": "Well formed, but it does not fit the flow: an answer for a question the page does not have, an unknown parameter, a step the session does not wait for", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "Internal": {"description": "The server failed; nothing about it is told", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
            "schemas": {
              "Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}
              },
              "Conflict": {
                "type": "object", "required": ["error", "current"],
                "properties": {
                  "error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string", "enum": ["staleVersion", "callInProgress"]}, "message": {"type": "string"}}},
                  "current": {"$ref": "#/components/schemas/Session"}
                }
              },
              "Flows": {
                "type": "object", "required": ["flows"],
                "properties": {"flows": {"type": "array", "items": {"type": "object", "required": ["name", "parameters"], "properties": {
                  "name": {"type": "string"},
                  "parameters": {"type": "array", "items": {"type": "object", "required": ["name", "type", "required"], "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "required": {"type": "boolean"}}}}
                }}}}
              },
              "CreateSession": {
                "type": "object", "required": ["flow"], "additionalProperties": false,
                "properties": {
                  "flow": {"type": "string", "enum": "FLOW_NAMES", "description": "The name of a flow (see /v1/flows)"},
                  "arguments": {"type": "object", "description": "The flow's parameters by name: text, true/false, or a number (exact decimals are best sent as text: \"12.50\"; a JSON number must be within 1e-38 to 1e38 in size)", "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "integer", "minimum": -1000000000000000, "maximum": 1000000000000000}, {"type": "boolean"}]}},
                  "configs": {"type": "object", "maxProperties": 0, "description": "Not accepted: configs are set by the server with --define"}
                }
              },
              "Step": {
                "type": "object", "required": ["version"], "additionalProperties": false,
                "description": "The version of the step answered, and exactly one of answers, back or extension",
                "properties": {
                  "version": {"type": "integer"},
                  "answers": {"type": "object", "description": "Answers by question name (or Page.Question), typed as at the terminal: text, a number (exact decimals are best sent as text), true/false, null (nothing), or the picks of a choices question", "additionalProperties": {"nullable": true, "oneOf": [{"type": "string"}, {"type": "integer", "minimum": -1000000000000000, "maximum": 1000000000000000}, {"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]}},
                  "back": {"type": "boolean", "enum": [true]},
                  "extension": {"oneOf": [
                    {"type": "object", "required": ["outputs"], "additionalProperties": false, "properties": {"outputs": {"type": "object", "description": "The extension's outputs by name"}}},
                    {"type": "object", "required": ["error"], "additionalProperties": false, "properties": {"error": {"type": "object", "required": ["message"], "additionalProperties": false, "properties": {"message": {"type": "string"}, "code": {"type": "string"}}}}}
                  ]}
                },
                "oneOf": [{"required": ["answers"]}, {"required": ["back"]}, {"required": ["extension"]}]
              },
              "Session": {
                "type": "object",
                "required": ["id", "flow", "version", "status", "responses", "conversation", "page", "extension", "outcome", "expiresAt"],
                "properties": {
                  "id": {"type": "string"},
                  "flow": {"type": "string"},
                  "version": {"type": "integer", "description": "Send it back with the next step"},
                  "status": {"type": "string", "enum": ["page", "extension", "finished", "working"], "description": "What the session needs: answers to the page, the result of the extension, nothing (finished), or nothing yet (working: a call it made, such as a charge, is in progress; read it again after working.retryAfter seconds, and send no step)"},
                  "responses": {"type": "array", "items": {"type": "string"}, "description": "Responses shown by this step"},
                  "conversation": {"type": "array", "items": {"type": "string"}, "description": "Every response so far"},
                  "page": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/Page"}]},
                  "extension": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/Extension"}]},
                  "outcome": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/Outcome"}]},
                  "working": {"$ref": "#/components/schemas/Working"},
                  "expiresAt": {"type": "integer", "description": "Unix seconds; every step moves it on"}
                }
              },
              "Page": {
                "type": "object", "required": ["name", "title", "canGoBack", "backStoppedBy", "questions"],
                "properties": {
                  "name": {"type": "string"},
                  "title": {"type": "string", "nullable": true},
                  "canGoBack": {"type": "boolean"},
                  "backStoppedBy": {"type": "string", "nullable": true, "description": "When back cannot go further because a call that changes something (a charge) was made since: its name"},
                  "questions": {"type": "array", "items": {"$ref": "#/components/schemas/Question"}}
                }
              },
              "Question": {
                "type": "object", "required": ["name", "reference", "type", "prompt", "options", "default", "optional", "min", "max", "pattern", "problem"],
                "properties": {
                  "name": {"type": "string"},
                  "reference": {"type": "string", "description": "Page.Question"},
                  "type": {"type": "string", "enum": ["text", "number", "currency", "yesno", "choice", "choices", "date", "email", "password"]},
                  "prompt": {"type": "string"},
                  "options": {"type": "array", "items": {"type": "string"}},
                  "default": {"nullable": true, "description": "Never given for a password"},
                  "optional": {"type": "boolean"},
                  "min": {"nullable": true, "description": "Smallest value (number, currency, date), shortest length (text) or fewest picks (choices)"},
                  "max": {"nullable": true},
                  "pattern": {"type": "string", "nullable": true},
                  "problem": {"type": "string", "nullable": true, "description": "Why the last answer was refused"}
                }
              },
              "Extension": {
                "type": "object", "required": ["name", "arguments", "outputs"],
                "properties": {
                  "name": {"type": "string"},
                  "arguments": {"type": "object", "description": "By parameter name (a secure one is null)"},
                  "outputs": {"type": "array", "items": {"type": "object", "required": ["name", "type"], "properties": {"name": {"type": "string"}, "type": {"type": "string"}}}}
                }
              },
              "Working": {
                "type": "object", "required": ["name", "retryAfter"], "additionalProperties": false,
                "description": "Only when the status is working: the call in progress, by name only (never its arguments, address or key)",
                "properties": {"name": {"type": "string", "description": "The integration point being called"}, "retryAfter": {"type": "integer", "minimum": 0, "description": "Seconds to wait before reading the session again"}}
              },
              "Outcome": {
                "type": "object", "required": ["outcome", "reason"],
                "properties": {"outcome": {"type": "string", "enum": ["success", "failure"]}, "reason": {"type": "string", "nullable": true}}
              }
            }
          }
        }
        """#
}
