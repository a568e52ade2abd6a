# Reference values for cfa(..., estimator = "wlsmv") (issue 13, item 1): lavaan's defaults for
# ordered items, cfa(model, data, ordered = <items>, estimator = "WLSMV") = delta
# parameterization, DWLS fit function on thresholds + polychoric correlations, robust
# ("robust.sem") standard errors and the mean-and-variance adjusted ("scaled.shifted") test.
# Also lavaan's missing = "pairwise" under WLSMV (bfi, ability).
# Run from the repository root:  Rscript tests/reference/wlsmv.R
# Writes tests/reference/wlsmv.json and tests/reference/data/hs_quartiles.csv (the
# HolzingerSwineford1939 tests cut at their quartiles into 4 ordered categories).
source("tests/reference/sem_common.R")

# (a) bfi agreeableness + conscientiousness, 6 categories, listwise (lavaan's default)
bfi <- read.csv("tests/reference/data/bfi.csv")
bfi_items <- c(paste0("A", 1:5), paste0("C", 1:5))
bfi_model <- "A =~ A1 + A2 + A3 + A4 + A5\nC =~ C1 + C2 + C3 + C4 + C5"
fit_bfi <- cfa(bfi_model, data = bfi, ordered = bfi_items, estimator = "WLSMV")

# (b) psychTools ability: 16 binary items, the four-factor model of the issue
ab <- read.csv("tests/reference/data/ability.csv")
ab_model <- paste(
  "reason =~ reason.4 + reason.16 + reason.17 + reason.19",
  "letter =~ letter.7 + letter.33 + letter.34 + letter.58",
  "matrix =~ matrix.45 + matrix.46 + matrix.47 + matrix.55",
  "rotate =~ rotate.3 + rotate.4 + rotate.6 + rotate.8", sep = "\n")
fit_ab <- cfa(ab_model, data = ab, ordered = names(ab), estimator = "WLSMV")

# (c) HolzingerSwineford1939 cut at the quartiles (4 categories)
hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
hs_items <- paste0("x", 1:9)
hso <- hs[, c("id", "school", hs_items)]
for (v in hs_items) {
  hso[[v]] <- as.integer(cut(hs[[v]], unique(quantile(hs[[v]], 0:4 / 4)),
                             include.lowest = TRUE))
}
write.csv(hso, "tests/reference/data/hs_quartiles.csv", row.names = FALSE)
hso <- read.csv("tests/reference/data/hs_quartiles.csv")
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
fit_hs <- cfa(hs_model, data = hso, ordered = hs_items, estimator = "WLSMV")
# std.lv, a residual covariance and a fixed factor covariance
hs_model2 <- paste(hs_model, "x7 ~~ x8\nvisual ~~ 0*speed", sep = "\n")
fit_hs2 <- cfa(hs_model2, data = hso, ordered = hs_items, estimator = "WLSMV", std.lv = TRUE)

out <- list(
  bfi = wlsmv_ref(fit_bfi, bfi_model, "bfi.csv", bfi_items),
  ability = wlsmv_ref(fit_ab, ab_model, "ability.csv", names(ab)),
  hs = wlsmv_ref(fit_hs, hs_model, "hs_quartiles.csv", hs_items),
  hs_std_lv = wlsmv_ref(fit_hs2, hs_model2, "hs_quartiles.csv", hs_items, stats = FALSE,
                        std_lv = TRUE)
)

# (d) missing = "pairwise" (lavaan's WLSMV option for skipped answers): thresholds per item
# from every answer, polychorics from the pairs answered together
fit_bfi_pw <- cfa(bfi_model, data = bfi, ordered = bfi_items, estimator = "WLSMV",
                  missing = "pairwise")
fit_ab_pw <- cfa(ab_model, data = ab, ordered = names(ab), estimator = "WLSMV",
                 missing = "pairwise")
out$bfi_pairwise <- wlsmv_ref(fit_bfi_pw, bfi_model, "bfi.csv", bfi_items, stats = FALSE,
                              missing = "pairwise")
out$ability_pairwise <- wlsmv_ref(fit_ab_pw, ab_model, "ability.csv", names(ab),
                                  stats = FALSE, missing = "pairwise")
write_ref(out, "tests/reference/wlsmv.json")
