"""Statistics over the votes: win rates, Bradley-Terry ratings, slices and filters, style control and
sequential decisions. Pure functions over counts and battles; no I/O."""
