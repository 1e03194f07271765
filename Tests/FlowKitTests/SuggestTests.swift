import FlowKit
import Testing

// "Did you mean": one helper for names in flows and command-line flags alike.
@Suite struct SuggestTests {
    @Test(arguments: [
        ("amout", "amount"),
        ("--stirct", "--strict"),
        ("embedded payment", "Embedded Payment"),
        ("Emial", "Email"),  // a swapped pair of letters is one edit
        ("flwo", "flow"),
    ])
    func suggestsTheClosestName(typed: String, expected: String) {
        let candidates = ["amount", "token", "--strict", "--format", "Embedded Payment", "Email", "flow", "ip"]
        #expect(Suggest.closest(to: typed, in: candidates) == expected)
    }

    @Test func suggestsNothingWhenNothingIsClose() {
        #expect(Suggest.closest(to: "zzz", in: ["amount", "token"]) == nil)
        #expect(Suggest.closest(to: "x", in: [String]()) == nil)
    }
}
