# Bootstrap intervals for omega (tracker issue 9, item 5), the method of MBESS ci.reliability:
# boot::boot over respondents (stype = "i") recomputing omega on each resample, then
# boot::boot.ci(type = "perc") and boot.ci(type = "bca") (acceleration from boot's default
# regression influence values, which need B > n). MBESS itself is not packaged for Debian; its
# ci.reliability(interval.type = "perc"/"bca") is exactly these two boot calls around a lavaan
# omega, so the statistic here is psych::omega's, the estimator empathy_metrics uses.
# Run from the repository root:  Rscript tests/reference/omega_boot.R
suppressPackageStartupMessages({library(psych); library(boot); library(jsonlite)})
bfi <- read.csv("tests/reference/data/bfi.csv")
agree <- na.omit(bfi[, paste0("A", 1:5)])[1:400, ]
agree$A1 <- 7 - agree$A1  # keyed, as an instrument would deliver it
B <- 2000
stat1 <- function(d, i) {
  o <- suppressMessages(suppressWarnings(omega(d[i, ], nfactors = 1, plot = FALSE)))
  c(o$omega.tot, o$omega_h)
}
set.seed(20261201)
bo <- boot(agree, stat1, R = B, stype = "i")
perc <- boot.ci(bo, conf = 0.95, type = "perc", index = 1)$percent[4:5]
bca <- boot.ci(bo, conf = 0.95, type = "bca", index = 1)$bca[4:5]
perc_u <- boot.ci(bo, conf = 0.95, type = "perc", index = 2)$percent[4:5]
bca_u <- boot.ci(bo, conf = 0.95, type = "bca", index = 2)$bca[4:5]
# deterministic pieces: jackknife influence values and BCa limits from these replicates with
# them (boot.ci(L = ...)), so the BCa formula is checked without Monte Carlo error
jack <- sapply(1:2, function(j) empinf(data = agree, statistic = stat1, type = "jack",
                                       stype = "i", index = j))
bca_jack <- lapply(1:2, function(j) boot.ci(bo, conf = 0.95, type = "bca", index = j,
                                            L = jack[, j])$bca[4:5])
res <- list(R = R.version.string, psych = as.character(packageVersion("psych")),
            boot = as.character(packageVersion("boot")), B = B, n = nrow(agree),
            estimate = unname(bo$t0), boot_sd = unname(apply(bo$t, 2, sd)),
            omega_total = list(perc = perc, bca = bca), omega_u = list(perc = perc_u, bca = bca_u),
            prop_below = unname(colMeans(sweep(bo$t, 2, bo$t0) < 0)),
            median = unname(apply(bo$t, 2, median)),
            acceleration = sapply(1:2, function(j) {
              L <- empinf(bo, index = j, t = bo$t[, j]); sum(L^3) / (6 * sum(L^2)^1.5) }),
            jackknife_influence = jack, bca_jack = bca_jack, replicates = bo$t)
write_json(res, "tests/reference/omega_boot.json", digits = NA, auto_unbox = TRUE)
print(res)
