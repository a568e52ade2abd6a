# Reference values for tests/test_efa.py and tests/test_rotation.py.
# Run from the repository root:  Rscript tests/reference/efa.R
# Writes tests/reference/efa.json (full precision). Needs psych, GPArotation, jsonlite.
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

bfi <- read.csv("tests/reference/data/bfi.csv")
bfi <- na.omit(bfi[, 1:25])                       # complete cases of the 25 items
hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
hs <- hs[, paste0("x", 1:9)]

datasets <- list(bfi = list(data = bfi, nfactors = 5), hs = list(data = hs, nfactors = 3))
methods <- c("minres", "ml", "pa")
rotations <- c(none = "none", oblimin = "oblimin", promax = "promax", varimax = "varimax",
               geomin = "geominQ")
n_iter <- c(bfi = 500, hs = 5000)                 # fa.parallel simulations

quantile_se <- function(x, q = 0.95) {
  # distribution-free standard error of a sample quantile: half the distance between the order
  # statistics one binomial standard deviation either side of n*q
  x <- sort(x); n <- length(x); s <- sqrt(n * q * (1 - q))
  lo <- max(1, floor(n * q - s)); hi <- min(n, ceiling(n * q + s))
  (x[hi] - x[lo]) / 2
}

out <- list(versions = list(R = R.version.string, psych = as.character(packageVersion("psych")),
                            GPArotation = as.character(packageVersion("GPArotation"))))
for (name in names(datasets)) {
  x <- datasets[[name]]$data
  k <- datasets[[name]]$nfactors
  r <- cor(x)
  n <- nrow(x)
  km <- KMO(r)
  bt <- cortest.bartlett(r, n = n)
  res <- list(
    n = n, items = colnames(x), nfactors = k,
    kmo = km$MSA, kmo_items = unname(km$MSAi),
    bartlett = list(chi2 = bt$chisq, df = bt$df, p = bt$p.value),
    eigenvalues = eigen(r)$values,
    smc = unname(smc(r))
  )
  fits <- list()
  for (fm in methods) {
    for (rot in names(rotations)) {
      f <- suppressWarnings(fa(x, nfactors = k, fm = fm, rotate = rotations[[rot]]))
      phi <- if (is.null(f$Phi)) diag(k) else f$Phi
      fits[[paste(fm, rot, sep = "_")]] <- list(
        loadings = unname(unclass(f$loadings)),
        phi = unname(phi),
        communality = unname(f$communality),
        uniquenesses = unname(f$uniquenesses),
        values = unname(f$values),
        vaccounted = unname(f$Vaccounted)
      )
    }
  }
  res$fa <- fits
  set.seed(20240601)
  pa <- fa.parallel(x, n.iter = n_iter[[name]], plot = FALSE)
  p <- ncol(x)
  sim_pc <- pa$values[, (2 * p + 1):(3 * p)]     # CSim: eigenvalues of simulated normal data
  sim_fa <- pa$values[, (3 * p + 1):(4 * p)]     # Fsim: one-factor minres eigenvalues
  res$parallel <- list(
    n_iter = n_iter[[name]],
    pc_values = unname(pa$pc.values), fa_values = unname(pa$fa.values),
    nfact = pa$nfact, ncomp = pa$ncomp,
    pc_sim_mean = unname(pa$pc.sim), fa_sim_mean = unname(pa$fa.sim),
    pc_sim_q95 = unname(apply(sim_pc, 2, quantile, 0.95)),
    fa_sim_q95 = unname(apply(sim_fa, 2, quantile, 0.95)),
    pc_sim_q95_se = unname(apply(sim_pc, 2, quantile_se)),
    fa_sim_q95_se = unname(apply(sim_fa, 2, quantile_se))
  )
  out[[name]] <- res
}

# Polychoric EFA of the simulated Jefferson-structured data (7 ordinal categories).
jse <- read.csv("tests/reference/data/jse_sim.csv")
fp <- suppressWarnings(fa(jse, nfactors = 3, fm = "minres", rotate = "oblimin", cor = "poly"))
out$jse_poly <- list(
  items = colnames(jse), nfactors = 3, n = nrow(jse),
  loadings = unname(unclass(fp$loadings)), phi = unname(fp$Phi),
  communality = unname(fp$communality), uniquenesses = unname(fp$uniquenesses)
)

write_json(out, "tests/reference/efa.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
