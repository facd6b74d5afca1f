//! The texts of the kanban board (columns, cards, moving, choosing lanes) and its errors:
//! (key, pt-BR, en), looked up with the rest by [`super::Lang::t`].

pub(super) const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.kanban", "Kanban", "Kanban"),
    (
        "kanban.help",
        "Atendimentos em aberto por etapa. Arraste um cartão para outra coluna, ou selecione-o e use as setas ← →.",
        "Open tickets by stage. Drag a card to another column, or focus it and use the ← → arrows.",
    ),
    ("kanban.waiting", "aguarda:", "waiting:"),
    ("kanban.no_lane", "Sem etapa", "No stage"),
    ("kanban.unassigned", "sem atendente", "unassigned"),
    ("kanban.move", "Mover", "Move"),
    ("kanban.move_to", "Mover para", "Move to"),
    ("kanban.moved", "Cartão movido para", "Card moved to"),
    (
        "kanban.no_lanes",
        "O quadro ainda não tem etapas: um supervisor escolhe as etiquetas que viram colunas.",
        "The board has no stages yet: a supervisor chooses the tags that become columns.",
    ),
    ("kanban.lanes", "Colunas do quadro", "Board columns"),
    (
        "kanban.lanes_help",
        "Cada coluna é uma etiqueta. Mover um cartão troca a etiqueta de etapa do atendimento e fica no histórico.",
        "Each column is a tag. Moving a card swaps the ticket's stage tag and is kept in its history.",
    ),
    ("kanban.position", "Posição", "Position"),
    ("kanban.remove_lane", "Tirar do quadro", "Remove from board"),
    (
        "kanban.no_tags",
        "Todas as etiquetas já são colunas. Crie outra em",
        "Every tag is a column already. Create another in",
    ),
    ("kanban.add_lane", "Etiqueta", "Tag"),
    ("kanban.add", "Adicionar coluna", "Add column"),
    ("saved.lanes_saved", "Colunas do quadro salvas.", "Board columns saved."),
    ("history.lane", "Etapa alterada", "Stage changed"),
    ("err.unknown_lane", "Esta etiqueta não é uma coluna do quadro.", "This tag is not a column of the board."),
    ("err.invalid_position", "A posição é um número de 1 a 999.", "The position is a number from 1 to 999."),
    ("err.too_many_lanes", "Um quadro tem no máximo 20 colunas.", "A board has at most 20 columns."),
];
