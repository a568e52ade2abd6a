# Reference values for empathy_metrics._sem.ordinal_stats (issue 13 item 1, WLSMV first stage):
# lavaan's sample thresholds, polychoric correlations, NACOV (Gamma) and DWLS weights for
# ordered items, cfa(..., ordered = TRUE, estimator = "WLSMV"), lavaan defaults (listwise).
# The model only makes lavaan compute its sample statistics; they do not depend on it.
# Run from the repository root:  Rscript tests/reference/ordinal_stats.R
# Writes tests/reference/ordinal_stats.json and tests/reference/data/hs_ordinal.csv.
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
dat <- "tests/reference/data"
bfi <- read.csv(file.path(dat, "bfi.csv"))
ability <- read.csv(file.path(dat, "ability.csv"))
hs <- read.csv(file.path(dat, "HolzingerSwineford1939.csv"))

# HolzingerSwineford1939 cut at sample quantiles: x1-x5 into 3, x6-x9 into 4 categories
cut_q <- function(x, k) cut(x, quantile(x, seq(0, 1, length.out = k + 1)),
                            include.lowest = TRUE, labels = FALSE)
hs_ord <- hs[, c("id", "school")]
for (v in paste0("x", 1:5)) hs_ord[[v]] <- cut_q(hs[[v]], 3)
for (v in paste0("x", 6:9)) hs_ord[[v]] <- cut_q(hs[[v]], 4)
write.csv(hs_ord, file.path(dat, "hs_ordinal.csv"), row.names = FALSE, na = "")

one_factor <- function(items) paste("F =~", paste(items, collapse = " + "))

stats_ref <- function(data, items, model = one_factor(items), group = NULL,
                      missing = "listwise") {
  fit <- cfa(model, data = data, ordered = TRUE, estimator = "WLSMV", group = group,
             missing = missing)
  th <- lavInspect(fit, "sampstat")
  gam <- lavInspect(fit, "gamma")
  wv <- lavInspect(fit, "wls.v")
  obs <- lavInspect(fit, "wls.obs")
  nobs <- lavInspect(fit, "nobs")
  if (is.null(group)) {
    th <- list(th); gam <- list(gam); wv <- list(wv); obs <- list(obs)
  }
  groups <- lapply(seq_along(gam), function(g) {
    cov <- th[[g]]$cov
    list(n = nobs[g], th = unname(th[[g]]$th), th_names = names(th[[g]]$th),
         corr = unname(unclass(cov)[items, items]), names = rownames(gam[[g]]),
         wls_obs = unname(obs[[g]]),
         # Gamma is symmetric: its upper triangle with diagonal, row by row (half the size)
         gamma_upper = t(unclass(gam[[g]]))[lower.tri(gam[[g]], diag = TRUE)],
         wls_v = unname(diag(wv[[g]])))
  })
  list(items = items, group = if (is.null(group)) NULL else group, missing = missing,
       labels = lavInspect(fit, "group.label"), groups = groups)
}

ac <- c(paste0("A", 1:5), paste0("C", 1:5))
ac_model <- "A =~ A1 + A2 + A3 + A4 + A5\n C =~ C1 + C2 + C3 + C4 + C5"
abil <- names(ability)
abil_model <- paste(sapply(c("reason", "letter", "matrix", "rotate"), function(f)
  paste(f, "=~", paste(grep(f, abil, value = TRUE), collapse = " + "))), collapse = "\n")
hs_items <- paste0("x", 1:9)
hs_model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"

# a small binary sample with 2 x 2 tables that have one empty cell (lavaan adds 0.5 keeping
# the margins): the first 120 rows of ability, complete cases
ab_small <- ability[1:120, ]
zero_pairs <- sum(sapply(1:15, function(j) sapply((j + 1):16, function(i) {
  t <- table(ab_small[, j], ab_small[, i]); any(t == 0)})) |> unlist())

out <- list(
  bfi_ac = stats_ref(bfi, ac, ac_model),
  ability = stats_ref(ability, abil, abil_model),
  ability_small = stats_ref(ab_small, abil, one_factor(abil)),
  hs_ordinal = stats_ref(hs_ord, hs_items, hs_model),
  bfi_ac_gender = stats_ref(bfi, ac, ac_model, group = "gender"),
  hs_ordinal_school = stats_ref(hs_ord, hs_items, hs_model, group = "school"),
  # missing = "pairwise": every row with an answer (bfi 2800 rows, ability 1525)
  bfi_ac_pairwise = stats_ref(bfi, ac, ac_model, missing = "pairwise"),
  ability_pairwise = stats_ref(ability, abil, abil_model, missing = "pairwise"),
  bfi_ac_gender_pairwise = stats_ref(bfi, ac, ac_model, group = "gender", missing = "pairwise")
)
out$ability_small$zero_cell_pairs <- zero_pairs
out$versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")))
write_json(out, "tests/reference/ordinal_stats.json", digits = I(10), auto_unbox = TRUE)
cat("ability_small pairs with an empty cell:", zero_pairs, "\n")
