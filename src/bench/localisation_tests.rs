use super::*;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} vs {b}");
}

fn boxed(class: SourceClass, numbers: [f64; 4]) -> SourceBox {
    SourceBox::new(class, numbers).unwrap()
}

#[test]
fn iou_by_hand() {
    // Two 0.2 × 0.2 boxes shifted by 0.1: overlap 0.1 × 0.2 = 0.02, union 0.08 − 0.02.
    close(iou([0.5, 0.5, 0.2, 0.2], [0.6, 0.5, 0.2, 0.2]), 0.02 / 0.06);
    close(iou([0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]), 1.0);
    close(iou([0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1]), 0.0);
    // A box inside another: its area over the other's.
    close(iou([0.5, 0.5, 0.4, 0.4], [0.5, 0.5, 0.2, 0.2]), 0.04 / 0.16);
}

#[test]
fn each_box_is_matched_once_best_iou_first() {
    let truth = [[0.5, 0.5, 0.2, 0.2], [0.55, 0.5, 0.2, 0.2]];
    // Prediction 0 overlaps truth 1 best (IoU 1), then truth 0; prediction 1 only truth 0.
    let predicted = [
        [0.55, 0.5, 0.2, 0.2],
        [0.5, 0.5, 0.2, 0.2],
        [0.1, 0.1, 0.05, 0.05],
    ];
    let matched = match_boxes(&predicted, &truth);
    let pairs: Vec<(usize, usize)> = matched.iter().map(|m| (m.0, m.1)).collect();
    assert_eq!(pairs, [(0, 1), (1, 0)]);
    // Below the threshold nothing matches (IoU 1/3).
    assert!(match_boxes(&[[0.6, 0.5, 0.2, 0.2]], &[[0.5, 0.5, 0.2, 0.2]]).is_empty());
}

#[test]
fn counts_and_scores_by_hand() {
    use SourceClass::*;
    let images = [
        ImageBoxes {
            // Compact: one hit (IoU 1), one miss; extended: one false alarm.
            predicted: vec![
                boxed(Compact, [0.2, 0.2, 0.1, 0.1]),
                boxed(Extended, [0.7, 0.7, 0.2, 0.2]),
            ],
            truth: vec![
                boxed(Compact, [0.2, 0.2, 0.1, 0.1]),
                boxed(Compact, [0.8, 0.2, 0.1, 0.1]),
            ],
        },
        ImageBoxes {
            // Compact: a hit at IoU 0.8 (a 0.1 × 0.1 box inside a 0.1 × 0.125 one).
            predicted: vec![boxed(Compact, [0.5, 0.5, 0.1, 0.1])],
            truth: vec![boxed(Compact, [0.5, 0.5, 0.1, 0.125])],
        },
        ImageBoxes {
            predicted: vec![],
            truth: vec![],
        },
    ];
    let scored = localisation(&images);
    let compact = &scored.per_class["COMPACT"];
    assert_eq!(compact.counts(), [2, 0, 1]);
    close(compact.precision, 1.0);
    close(compact.recall, 2.0 / 3.0);
    close(compact.f1, 0.8);
    close(compact.mean_iou, (1.0 + 0.8) / 2.0);
    let extended = &scored.per_class["EXTENDED"];
    assert_eq!((extended.true_positives, extended.false_positives), (0, 1));
    assert_eq!(
        (extended.precision, extended.f1, extended.mean_iou),
        (0.0, 0.0, 0.0)
    );
    assert!(
        !scored.per_class.contains_key("FLAGGED"),
        "classes never seen are left out"
    );
    let all = &scored.overall;
    assert_eq!(
        (all.true_positives, all.false_positives, all.false_negatives),
        (2, 1, 1)
    );
    close(all.precision, 2.0 / 3.0);
    close(all.recall, 2.0 / 3.0);
    close(all.mean_iou, 0.9);
}
