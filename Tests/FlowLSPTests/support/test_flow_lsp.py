"""`flow lsp` driven by an independent client: pytest-lsp (pygls and lsprotocol), which also checks
every message against the LSP 3.17 types and the client capabilities it declares (VS Code's).

Run by Tests/FlowLSPTests/PytestLSPTests.swift: FLOW_BIN is the built binary, FLOW_ROOT the package.
"""
import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

FLOW = os.environ["FLOW_BIN"]
ROOT = pathlib.Path(os.environ["FLOW_ROOT"])
FLOWS = ROOT / "flows"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[FLOW, "lsp"]))
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=FLOWS.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=FLOWS.as_uri(), name="flows")],
    )
    result = await lsp_client.initialize_session(params)
    assert result.server_info.name == "flow"
    yield
    await lsp_client.shutdown_session()


def open_file(client, relative, text=None, uri=None):
    path = FLOWS / relative
    text = path.read_text() if text is None else text
    uri = uri or path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="flow", version=1, text=text)
        )
    )
    return uri, text


def pos(text, needle, delta=1, occurrence=0):
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    offset = start + delta
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    # Positions count UTF-16 code units; the examples are ASCII up to here.
    return types.Position(line=line, character=column)


def line_of(text, needle):
    return text.count("\n", 0, text.index(needle))


async def published(client, uri):
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics[uri]


async def test_diagnostics_follow_edits(client: LanguageClient):
    uri, text = open_file(client, "support.flow")
    assert not await published(client, uri)
    start = pos(text, "product: Issue.Product", delta=19)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=start, end=types.Position(line=start.line, character=start.character + 1)),
                    text="",
                )
            ],
        )
    )
    diagnostics = []
    while not diagnostics:
        diagnostics = await published(client, uri)
    assert [d.code for d in diagnostics] == ["check.undefinedQuestion"]
    assert "did you mean 'Issue.Product'?" in diagnostics[0].message
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error


async def test_definition_and_references(client: LanguageClient):
    uri, text = open_file(client, "payment.flow")
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(text, "not result.paid", 12))
    )
    assert result.range.start.line == line_of(text, "output paid")
    support, s = open_file(client, "support.flow")
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=support),
            position=pos(s, "call Open Ticket(", 7),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert sorted(pathlib.Path(r.uri[len("file://"):]).name for r in refs) == ["common.flow", "common.flowtest", "support.flow", "support.flowtest"]


async def test_rename(client: LanguageClient):
    uri, text = open_file(client, "support.flow")
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(text, "flow Triage(", 6), new_name="Sort")
    )
    names = {pathlib.Path(u[len("file://"):]).name: len(e) for u, e in edit.changes.items()}
    assert names == {"support.flow": 2, "support.flowtest": 2}
    with pytest.raises(Exception, match="flow 'Support'"):
        await client.text_document_rename_async(
            types.RenameParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(text, "flow Triage(", 6), new_name="Support")
        )


async def test_completion_hover_signature(client: LanguageClient):
    text = (FLOWS / "support.flow").read_text().replace("devices: Issue.Devices affected", "devices: Issue.")
    uri, _ = open_file(client, "support.flow", text=text, uri=(FLOWS / ".pytest-completion.flow").as_uri())
    items = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(text, "devices: Issue.", 15))
    )
    labels = [i.label for i in (items.items if hasattr(items, "items") else items)]
    assert labels == ["Product", "Service down", "Devices affected", "Contact email", "Details"]
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(text, "ip Send SMS(trim", 5))
    )
    assert "request: `POST \"{SMS_BASE}/accounts/contact-centre/messages\"`" in hover.contents.value
    help = await client.text_document_signature_help_async(
        types.SignatureHelpParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(text, "Issue.Service down,", 19))
    )
    assert help.signatures[0].label == "Triage(product: text, down: bool, devices: number = 1)"
    assert help.active_parameter == 2


async def test_symbols_formatting_code_action(client: LanguageClient):
    uri, text = open_file(client, "order-status.flow")
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert "Order Status" in [s.name for s in symbols]
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    assert not edits
    broken = (FLOWS / "payment.flow").read_text().replace("ip StripeCharge(amount, token, description)", "ip StripeCharj(amount, token, description)")
    buri, _ = open_file(client, "payment.flow", text=broken, uri=(FLOWS / ".pytest-action.flow").as_uri())
    diagnostics = []
    while not diagnostics:
        diagnostics = await published(client, buri)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=buri),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    assert [a.title for a in actions] == ["Change to 'StripeCharge'"]
    assert actions[0].edit.changes[buri][0].new_text == "StripeCharge"
