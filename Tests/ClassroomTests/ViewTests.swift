@testable import ClassroomServer
import Foundation
import LabKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct ViewTests {
    /// Views run side by side (the dashboard's stream, GET /api/room, an export), and each waits on the store
    /// while the actor serves others. Lines two views both fetched were folded twice: the attendee's count then
    /// ran ahead of the store's, every later view read from past the end, and their passes never showed.
    @Test(arguments: StoreKind.testable) func concurrentViewsFoldEveryLineOnce(_ store: StoreKind) async throws {
        let t = try await TestRoom(store)
        let classroom = t.classroom
        let (a, _) = try await classroom.join(code: await t.room.code, name: "alice")
        let all = JournalBuilder.started(passing: steps.count).lines
        var from = 0
        while from < all.count {
            let batch = Array(all[from..<min(from + 2, all.count)])
            _ = try await classroom.append(attendee: a.id, from: from, lines: batch)
            from += batch.count
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 { group.addTask { _ = try await classroom.view() } }
                try await group.waitForAll()
            }
        }
        let mine = try #require(try await classroom.view().attendees.first { $0.id == a.id })
        let fresh = Folded(lines: all, catalogue: classroom.catalogue)
        #expect(mine.steps == fresh.steps, "folded: \(mine.steps.count) steps, the journal has \(fresh.steps.count)")
        #expect(mine.current == fresh.current)
    }

    /// A view whose read overlaps what a concurrent view applied folds the rest of its lines, once each: it
    /// neither folds the applied ones again nor skips the attendee (whose later lines the next view would never
    /// read again).
    @Test func aViewFoldsWhatAConcurrentViewDidNotApply() {
        let texts = ["l11", "l12", "l13", "l14"]  // read after line 10
        #expect(ClassroomServer.Classroom.unapplied(texts, readAfter: 10, folded: 10).map(Array.init) == texts)
        #expect(ClassroomServer.Classroom.unapplied(texts, readAfter: 10, folded: 12).map(Array.init) == ["l13", "l14"])
        #expect(ClassroomServer.Classroom.unapplied(texts, readAfter: 10, folded: 14).map(Array.init) == [])
        #expect(ClassroomServer.Classroom.unapplied(texts, readAfter: 10, folded: 15) == nil)  // another view read further
        #expect(ClassroomServer.Classroom.unapplied(texts, readAfter: 10, folded: 9) == nil)
    }

    /// A view folds only the lines stored since the last one, onto the attendee's fold so far. For every place a
    /// journal can be cut (fails, a reset, wrong answers, a pass after a solve), folding it in two pieces must
    /// give what folding it whole gives.
    @Test func foldingInPiecesEqualsFoldingWhole() throws {
        let lab = firstLab.id
        var jb = JournalBuilder.started(passing: 1, showingNext: true)
        jb.event(.step, "a-lab-this-server-lacks", "s1")
        jb.event(.step, lab, steps[1])
        jb.fail(lab, steps[1], expected: "a container named web", observed: "none")
        jb.event(.wrong, lab, steps[1])
        jb.fail(lab, steps[1], expected: "web running", observed: "exited")
        jb.event(.reset, lab)
        jb.event(.start, lab)
        jb.event(.step, lab, steps[0])
        jb.fail(lab, steps[0], expected: "pid 1 is sleep", observed: "sh")
        jb.event(.solve, lab, steps[0])
        jb.event(.pass, lab, steps[0])
        jb.event(.step, lab, steps[1])
        jb.fail(lab, steps[1], expected: "a container named web", observed: "none")
        jb.event(.wrong, lab, steps[1])
        jb.event(.wrong, lab, steps[1])
        jb.lines.append("{not a record")  // stored and counted, folded as nothing
        let all = jb.lines
        let catalogue = labCatalogue
        let whole = Folded(lines: all, catalogue: catalogue)
        #expect(whole.current == lab + "/" + steps[1] && whole.wrong == 2 && whole.failures == 1)
        #expect(whole.failing[lab + "/" + steps[1]] == "a container named web" && whole.failing[lab + "/" + steps[0]] == nil)
        for cut in 0...all.count {
            var pieces = Folded(lines: Array(all[..<cut]), catalogue: catalogue)
            let rest = Array(all[cut...])
            pieces.apply(rest.compactMap { try? JournalLine.parse($0) }, count: rest.count, catalogue: catalogue)
            #expect(pieces.lines == whole.lines && pieces.steps == whole.steps && pieces.current == whole.current
                    && pieces.currentSince == whole.currentSince && pieces.failing == whole.failing
                    && pieces.wrong == whole.wrong && pieces.failures == whole.failures
                    && pieces.durations == whole.durations && pieces.labs == whole.labs, "cut at line \(cut)")
        }
    }
}
