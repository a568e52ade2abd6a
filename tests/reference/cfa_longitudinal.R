# Reference values for longitudinal measurement invariance (issue 13, item 5): the same
# students answer at three occasions; one wide model with a factor per occasion, each item's
# residuals correlated across occasions, and configural / metric / scalar constraints across
# time (loadings, then intercepts, equal over occasions; latent means free after the first),
# as in semTools' longitudinal practice (measEq.syntax with longFacNames).
# Run from the repository root:  Rscript tests/reference/cfa_longitudinal.R
# Writes tests/reference/data/longitudinal_sim.csv (simulated, seed 2026) and
# tests/reference/cfa_longitudinal.json.
source("tests/reference/sem_common.R")

# ---- simulate: 500 students, years 1-3, two correlated factors of three 1-7 items ----------
set.seed(2026)
n <- 500
items <- list(E = c("x1", "x2", "x3"), C = c("x4", "x5", "x6"))
lambda <- c(x1 = 1, x2 = 0.9, x3 = 0.8, x4 = 1, x5 = 1.1, x6 = 0.7)
nu <- c(x1 = 4.5, x2 = 4.2, x3 = 4.8, x4 = 4.0, x5 = 4.4, x6 = 5.0)
eta <- array(0, c(n, 2, 3))
eta[, , 1] <- MASS::mvrnorm(n, c(0, 0), matrix(c(1, 0.4, 0.4, 1), 2))
for (t in 2:3) {
  eta[, , t] <- 0.7 * eta[, , t - 1] + MASS::mvrnorm(n, c(-0.15, -0.1),
                                                      matrix(c(0.5, 0.2, 0.2, 0.5), 2))
}
unique_part <- matrix(rnorm(n * 6, 0, 0.45), n, 6)  # item-specific, stable over time
rows <- list()
for (t in 1:3) {
  x <- matrix(0, n, 6, dimnames = list(NULL, names(lambda)))
  for (k in 1:6) {
    f <- if (k <= 3) 1 else 2
    shift <- if (k == 3 && t == 3) 0.45 else 0  # x3 drifts in year 3: not scalar invariant
    x[, k] <- nu[k] + shift + lambda[k] * eta[, f, t] + unique_part[, k] + rnorm(n, 0, 0.6)
  }
  x <- pmin(pmax(round(x), 1), 7)
  rows[[t]] <- data.frame(student = sprintf("s%03d", 1:n), year = t, x)
}
long <- do.call(rbind, rows)
# attrition (10 % miss year 2, 20 % year 3) and a few skipped items
long <- long[!(long$year == 2 & runif(nrow(long)) < 0.10), ]
long <- long[!(long$year == 3 & runif(nrow(long)) < 0.20), ]
for (v in names(lambda)) long[[v]][runif(nrow(long)) < 0.02] <- NA
long <- long[sample(nrow(long)), ]  # rows in no particular order
write.csv(long, "tests/reference/data/longitudinal_sim.csv", row.names = FALSE, na = "")
long <- read.csv("tests/reference/data/longitudinal_sim.csv")

# ---- wide data and the three models ----------------------------------------------------------
times <- sort(unique(long$year))
wide <- reshape(long, idvar = "student", timevar = "year", direction = "wide", sep = "_")
wide <- wide[order(wide$student), ]


fits <- list()
out <- list(times = times, n_ids = nrow(wide))
for (miss in c("listwise", "ml")) {
  fl <- list()
  for (level in c("configural", "metric", "scalar")) {
    fl[[level]] <- cfa(long_model(level, items, times), data = wide, missing = miss,
                       meanstructure = TRUE)
  }
  lrt <- lavTestLRT(fl$configural, fl$metric, fl$scalar)
  key <- if (miss == "ml") "fiml" else "listwise"
  out[[key]] <- list(
    fits = lapply(fl, fit_ref), params = lapply(fl, params_ref),
    lrt = list(chisq_diff = lrt[["Chisq diff"]][2:3], df_diff = lrt[["Df diff"]][2:3],
               pvalue = lrt[["Pr(>Chisq)"]][2:3]))
}
levels <- c("configural", "metric", "scalar")
out$syntax <- setNames(lapply(levels, long_model, items = items, times = times), levels)
write_ref(out, "tests/reference/cfa_longitudinal.json")
