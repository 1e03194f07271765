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

    /// A table made with room for its names finds them as a grown one does, with no growth to
    /// lose them in, and still grows past the room it was given; a small reservation changes
    /// nothing.
    @Test func reservedRoomHoldsAndGrows() {
        for (reserved, added) in [(10_000, 10_000), (5_000, 12_000), (100, 3_000)] {
            var table = NameTable<Int>()
            table.reserveCapacity(reserved)
            for i in 0..<added { #expect(table.insertIfAbsent("v\(i)", i) == nil) }
            #expect(table.count == added)
            var missing = 0
            for i in 0..<added where table["v\(i)"] != i { missing += 1 }
            #expect(missing == 0, "reserved \(reserved), added \(added)")
            #expect(table["v\(added)"] == nil)
            #expect(Set(table.names).count == added)
        }
    }
}
