@testable import FlowKit
import Testing

@Suite struct NameTableTests {
    @Test func storesFindsAndUpdatesThroughGrowth() {
        var table = NameTable<Int>()
        let names = (0..<1000).map { "name \($0)" } + ["Embedded Payment", "Straße", ""]
        for (i, n) in names.enumerated() { table[n] = i }
        #expect(table.count == names.count)
        for (i, n) in names.enumerated() { #expect(table[n] == i) }
        #expect(table["name 1000"] == nil)
        #expect(table["Embedded  Payment"] == nil)
        table["name 7"] = -7
        #expect(table["name 7"] == -7)
        #expect(table.count == names.count)
        #expect(Set(table.names) == Set(names))
    }

    /// `insertIfAbsent` adds a new name and leaves a present one as it is, through growth.
    @Test func insertsOnlyWhatIsAbsent() {
        var table = NameTable<Int>()
        for i in 0..<500 { #expect(table.insertIfAbsent("page \(i)", i) == nil) }
        for i in 0..<500 { #expect(table.insertIfAbsent("page \(i)", -i) == i) }
        #expect(table.count == 500)
        for i in 0..<500 { #expect(table["page \(i)"] == i) }
        #expect(table["page 500"] == nil)
    }
}
