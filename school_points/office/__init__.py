"""What school staff read and print about the school's points: reports (later imports,
exports, printable sheets)."""
