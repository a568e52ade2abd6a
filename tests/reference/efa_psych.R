# Reference values for psych's defaults and Heywood cases in EFA (tracker issue 9, items 2, 4).
# Run from the repository root:  Rscript tests/reference/efa_psych.R
# Exports psychTools' ability (1525 x 16, 0/1 with missing answers) and epi.bfi (231 x 13) to
# tests/reference/data/ and writes tests/reference/efa_psych.json.
suppressPackageStartupMessages({library(psych); library(psychTools); library(jsonlite)})
out <- "tests/reference/data"
write.csv(ability, file.path(out, "ability.csv"), row.names = FALSE, na = "")
write.csv(epi.bfi, file.path(out, "epi.bfi.csv"), row.names = FALSE, na = "")
bfi <- read.csv(file.path(out, "bfi.csv"))[, 1:25]

minres_fit <- function(x, k) {
  f <- suppressWarnings(fa(x, k, rotate = "none", fm = "minres", warnings = FALSE))
  r <- cor(x, use = "pairwise")
  res <- r - f$loadings %*% t(f$loadings)
  list(nfactors = k, h2 = unname(f$communality), u2 = unname(f$uniquenesses),
       objective = sum(res[lower.tri(res)]^2),
       heywood = unname(which(f$communality >= 1 - 0.005 - 1e-6)) - 1L)  # 0-based
}
bart <- function(x) { b <- cortest.bartlett(x); list(chi2 = b$chisq, df = b$df, p = b$p.value) }
bart_lw <- function(x) { x <- na.omit(x); b <- cortest.bartlett(cor(x), n = nrow(x))
  list(chi2 = b$chisq, df = b$df, p = b$p.value, n = nrow(x)) }
res <- list(
  psych = as.character(packageVersion("psych")), R = R.version.string,
  # psych's defaults on raw data: pairwise correlations, n = all rows
  bfi = list(items = colnames(bfi), n = nrow(bfi), bartlett_pairwise = bart(bfi),
             bartlett_listwise = bart_lw(bfi), kmo_pairwise = KMO(bfi)$MSA,
             kmo_listwise = KMO(na.omit(bfi))$MSA),
  ability = minres_fit(ability, 5),
  epi_bfi = minres_fit(epi.bfi, 4))
write_json(res, "tests/reference/efa_psych.json", digits = NA, auto_unbox = TRUE)
cat("bfi Bartlett pairwise", res$bfi$bartlett_pairwise$chi2, "listwise", res$bfi$bartlett_listwise$chi2,
    "\nability objective", res$ability$objective, "heywood", res$ability$heywood,
    "\nepi.bfi objective", res$epi_bfi$objective, "heywood", res$epi_bfi$heywood, "\n")
