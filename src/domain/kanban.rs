//! Kanban rules: a lane is a tag placed on the board at a position; a board holds a bounded
//! number of lanes so it stays readable and each column's query stays one indexed page.

/// The most lanes a board may have (plus the "no lane" column that leads).
pub const MAX_LANES: usize = 20;

/// Positions run 1–999; equal positions sort by name.
pub fn position(p: i64) -> Result<i64, &'static str> {
    if (1..=999).contains(&p) {
        Ok(p)
    } else {
        Err("a lane's position is a number from 1 to 999")
    }
}

/// Whether a move changes anything: the ticket is in exactly the target lane already (or in
/// none and goes to none) when it does not.
pub fn is_move(current: &[i64], target: Option<i64>) -> bool {
    match target {
        None => !current.is_empty(),
        Some(t) => current != [t],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_bounded() {
        assert_eq!(position(1), Ok(1));
        assert_eq!(position(999), Ok(999));
        assert!(position(0).is_err());
        assert!(position(1000).is_err());
        assert!(position(-5).is_err());
    }

    #[test]
    fn a_move_to_where_the_card_is_changes_nothing_and_a_card_in_two_lanes_is_tidied() {
        assert!(!is_move(&[3], Some(3)));
        assert!(!is_move(&[], None));
        assert!(is_move(&[3], Some(4)));
        assert!(is_move(&[3], None));
        assert!(is_move(&[], Some(3)));
        // Two lane tags put on by hand: moving to one of them leaves only that one.
        assert!(is_move(&[3, 4], Some(3)));
    }
}
