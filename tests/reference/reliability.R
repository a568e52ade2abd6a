# Reference values for empathy_metrics.reliability / correlation (psych 2.2.9).
# Run from the repo root:  Rscript tests/reference/reliability.R
suppressPackageStartupMessages({library(psych); library(GPArotation); library(jsonlite)})

bfi <- read.csv("tests/reference/data/bfi.csv")

# Jefferson-structured simulation: 3 correlated factors, 20 items on 1..7, 500 respondents.
set.seed(20261124)
n <- 500
phi <- matrix(c(1, .5, .4, .5, 1, .3, .4, .3, 1), 3)
f <- MASS::mvrnorm(n, rep(0, 3), phi)
factor_of <- c(rep(1, 10), rep(2, 8), rep(3, 2))
load <- c(seq(.75, .45, length.out = 10), seq(.7, .4, length.out = 8), .7, .6)
latent <- sapply(1:20, function(j) load[j] * f[, factor_of[j]] + sqrt(1 - load[j]^2) * rnorm(n))
cuts <- c(-Inf, -1.6, -0.9, -0.3, 0.3, 0.9, 1.6, Inf)
jse <- sapply(1:20, function(j) as.integer(cut(latent[, j] + rnorm(1, 0, .2), cuts)))
colnames(jse) <- paste0("q", 1:20)
write.csv(jse, "tests/reference/data/jse_sim.csv", row.names = FALSE)

alpha_ref <- function(x, use = "pairwise") {
  a <- suppressWarnings(psych::alpha(x, use = use, check.keys = FALSE, warnings = FALSE))
  list(
    alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, lambda6 = a$total[["G6(smc)"]],
    average_r = a$total$average_r,
    feldt = c(a$feldt$lower.ci[[1]], a$feldt$upper.ci[[1]]),
    r_drop = a$item.stats$r.drop, alpha_if_deleted = a$alpha.drop$raw_alpha,
    std_alpha_if_deleted = a$alpha.drop$std.alpha,
    mean = a$item.stats$mean, sd = a$item.stats$sd, items = colnames(x)
  )
}

rev_key <- function(x, cols, lo, hi) { for (c in cols) x[[c]] <- lo + hi - x[[c]]; x }

agree <- rev_key(bfi[, paste0("A", 1:5)], "A1", 1, 6)
consc <- rev_key(bfi[, paste0("C", 1:5)], c("C4", "C5"), 1, 6)
big25 <- rev_key(bfi[, 1:25], c("A1", "C4", "C5", "E1", "E2", "O2", "O5"), 1, 6)

om_ref <- function(x, k) {
  o <- suppressWarnings(psych::omega(x, nfactors = k, fm = "minres", rotate = "oblimin",
                                     plot = FALSE))
  list(omega_h = o$omega_h, omega_total = o$omega.tot)
}
om1 <- function(x) {
  o <- suppressWarnings(psych::omega(x, nfactors = 1, fm = "minres", plot = FALSE))
  list(omega_h = o$omega_h, omega_total = o$omega.tot)
}

poly_a <- psych::polychoric(agree)
poly_jse <- psych::polychoric(jse)
ord_alpha <- function(rho) psych::alpha(rho, warnings = FALSE)$total$raw_alpha

# Bootstrap CIs of raw alpha. Replicates are random, so the reference is the Monte Carlo
# distribution of the interval limits: their mean and standard deviation over `runs`
# independent boot::boot runs of R = 2000 resamples (percentile and BCa with jackknife
# influence values), plus one run of psych::alpha(n.iter = 2000) (percentile, quantile type 7).
alpha_stat <- function(x, i) {
  c <- cov(x[i, , drop = FALSE]); k <- ncol(c); k / (k - 1) * (1 - sum(diag(c)) / sum(c))
}
boot_ref <- function(x, runs = 20, R = 2000) {
  x <- as.matrix(x)
  perc <- bca <- matrix(NA_real_, runs, 2)
  set.seed(1)
  L <- NULL
  for (r in seq_len(runs)) {
    b <- boot::boot(x, alpha_stat, R = R)
    if (is.null(L)) L <- boot::empinf(b, type = "jack")
    ci <- boot::boot.ci(b, conf = 0.95, type = c("perc", "bca"), L = L)
    perc[r, ] <- ci$percent[4:5]
    bca[r, ] <- ci$bca[4:5]
  }
  set.seed(2)
  p <- suppressWarnings(psych::alpha(x, n.iter = R, check.keys = FALSE, warnings = FALSE))
  list(alpha = alpha_stat(x, seq_len(nrow(x))), runs = runs, R = R,
       perc_mean = colMeans(perc), perc_sd = apply(perc, 2, sd),
       bca_mean = colMeans(bca), bca_sd = apply(bca, 2, sd),
       psych_boot_ci = unname(p$boot.ci[c(1, 3)]))
}

out <- list(
  boot_jse = boot_ref(jse),
  boot_agree = boot_ref(na.omit(agree)),
  psych_version = as.character(packageVersion("psych")),
  agree_listwise = alpha_ref(na.omit(agree)),
  agree_pairwise = alpha_ref(agree),
  consc_listwise = alpha_ref(na.omit(consc)),
  big25_listwise = alpha_ref(na.omit(big25)),
  jse_listwise = alpha_ref(jse),
  jse_f1_listwise = alpha_ref(jse[, 1:10]),
  omega_jse = om_ref(jse, 3),
  omega_jse_f1 = om1(jse[, 1:10]),
  omega_jse_f3 = om1(jse[, 19:20]),
  polychoric_agree = list(rho = unname(poly_a$rho), tau = unname(poly_a$tau),
                          ordinal_alpha = ord_alpha(poly_a$rho)),
  polychoric_jse = list(rho = unname(poly_jse$rho), ordinal_alpha = ord_alpha(poly_jse$rho))
)
write_json(out, "tests/reference/reliability.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
