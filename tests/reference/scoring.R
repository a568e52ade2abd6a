# Reference values for empathy_metrics.scoring (psych 2.2.9, scoreItems).
# Run from the repo root:  Rscript tests/reference/scoring.R   (writes tests/reference/scoring.json)
#
# psych::scoreItems(..., totals = FALSE, impute = "none") gives each respondent the mean of the
# answered (keyed) items of a scale; reverse keying is min + max - x. The instrument's missing
# rule (score only when no more than max_missing items are missing) is applied here in R on the
# counts of missing items, and sums are k * mean.
suppressPackageStartupMessages({library(psych); library(jsonlite)})

score_ref <- function(items, keys, lo, hi, method, allowed) {
  s <- psych::scoreItems(keys, items, totals = FALSE, impute = "none", min = lo, max = hi)
  out <- list()
  for (scale in names(keys)) {
    cols <- sub("^-", "", keys[[scale]])
    k <- length(cols)
    n_missing <- rowSums(is.na(items[, cols, drop = FALSE]))
    value <- s$scores[, scale]
    if (method == "sum") value <- value * k
    value[n_missing > allowed[[scale]] | n_missing == k] <- NA
    out[[scale]] <- value
  }
  out
}

# 1. The user-written bfi-a-c example of issue 2 on psych's bfi data (mean scoring, 1 missing).
bfi <- read.csv("tests/reference/data/bfi.csv")
bfi_keys <- list(agreeableness = c("-A1", "A2", "A3", "A4", "A5"),
                 conscientiousness = c("C1", "C2", "C3", "-C4", "-C5"))
bfi_scores <- score_ref(bfi[, c(paste0("A", 1:5), paste0("C", 1:5))], bfi_keys, 1, 6, "mean",
                        list(agreeableness = 1, conscientiousness = 1))

# 2. JSE-S key on the simulated Jefferson data, with answers removed where
#    (row * 7 + item * 3) %% 13 == 0 (row and item 1-based), and items 1..(row + 1) of rows 1..9
#    (2 to 10 missing): a pattern the test rebuilds.
jse <- read.csv("tests/reference/data/jse_sim.csv")
colnames(jse) <- paste0("JSE", 1:20)
for (j in 1:20) jse[((seq_len(nrow(jse)) * 7 + j * 3) %% 13) == 0, j] <- NA
for (i in 1:9) jse[i, 1:(i + 1)] <- NA
rev <- c(1, 3, 6, 7, 8, 11, 12, 14, 18, 19)
key_of <- function(idx) ifelse(idx %in% rev, paste0("-JSE", idx), paste0("JSE", idx))
jse_keys <- list(perspective_taking = key_of(c(2, 4, 5, 9, 10, 13, 15, 16, 17, 20)),
                 compassionate_care = key_of(c(1, 7, 8, 11, 12, 14, 18, 19)),
                 standing_in_patients_shoes = key_of(c(3, 6)),
                 total = key_of(1:20))
# 20 % of the scale's items, rounded down
allowed <- lapply(jse_keys, function(k) floor(0.2 * length(k) + 1e-9))
jse_scores <- score_ref(jse, jse_keys, 1, 7, "sum", allowed)

out <- list(psych_version = as.character(packageVersion("psych")),
            bfi_a_c = bfi_scores, jse_s = jse_scores)
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE),
           "tests/reference/scoring.json")
