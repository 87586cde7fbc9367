import Foundation
import Hummingbird
import PorticoCore

/// A delete that first asks: `GET …/{id}/delete` shows the question, `POST` deletes and goes back to the list.
struct Deletion<Item: Sendable>: Sendable {
    let path: String
    let entity: String
    let load: @Sendable (UUID) async throws -> Item
    let delete: @Sendable (UUID, Actor) async throws -> Void
    /// The item's name for the message, and the question to ask.
    let describe: @Sendable (Item) -> (name: String, question: String)
}

extension DashboardController {
    func addDeleteRoutes<Item>(to group: RouterGroup<Context>, _ deletion: Deletion<Item>) {
        group.get("\(deletion.path)/{id}/delete") { _, context in
            let id = try context.id(of: deletion.entity)
            let (_, question) = deletion.describe(try await deletion.load(id))
            return renderer.page(
                "confirm", title: "Delete \(deletion.entity)?",
                [
                    "question": question, "action": "/admin/\(deletion.path)/\(id)/delete", "button": "Delete \(deletion.entity)",
                    "back": "/admin/\(deletion.path)/\(id)",
                ], context: context, section: deletion.path)
        }
        group.post("\(deletion.path)/{id}/delete") { _, context in
            let id = try context.id(of: deletion.entity)
            let (name, _) = deletion.describe(try await deletion.load(id))
            try await deletion.delete(id, context.actor)
            return PageRenderer.redirect(to: "/admin/\(deletion.path)", flash: "Deleted \(deletion.entity) \(name).", context: context)
        }
    }
}
