# Reference grid for the noncentral-t confidence interval of Cohen's d (tracker issue 9, item 1).
# Run from the repository root:  Rscript tests/reference/effect_sizes.R
# Writes tests/reference/effect_sizes.json.
#
# For each (d, n_x, n_y): t = d / sqrt(1/n_x + 1/n_y), df = n_x + n_y - 2, and the ncp limits
# solve pt(t, df, ncp) = (1 +- level)/2 by uniroot (tol 1e-13) -- the method of effectsize's
# .get_ncp_t and MBESS conf.limits.nct (Steiger & Fouladi 1997). The d limits are the ncp limits
# times sqrt(1/n_x + 1/n_y).
#
# R's pt() with a noncentrality switches to a normal approximation (Abramowitz & Stegun 26.7.10)
# when |ncp| > 37.62 or df > 4e5 (src/nmath/pnt.c). So that the reference does not inherit the
# approximation, the same limits are also found with the CDF written as the integral
#   P(T <= t) = int_0^Inf pnorm(t*s - ncp) f_S(s) ds,  S = sqrt(chisq_df/df)
# (d_ci_integral); d_ci_pt is reported beside it and flagged where the two differ.
suppressPackageStartupMessages(library(jsonlite))

level <- 0.95
probs <- c(0.5 + level / 2, 0.5 - level / 2)

cdf_integral <- function(t, df, ncp) {
  ls <- function(s) log(2) + df / 2 * log(df / 2) - lgamma(df / 2) + (df - 1) * log(s) - df * s^2 / 2
  sd_s <- 1 / sqrt(2 * df)
  lo <- max(0, 1 - 40 * sd_s); hi <- 1 + 40 * sd_s
  if (df < 30) { lo <- 0; hi <- 1 + 40 * max(sd_s, 0.5) }
  integrate(function(s) pnorm(t * s - ncp) * exp(ls(s)), lo, hi, subdivisions = 2000L,
            rel.tol = 1e-13, abs.tol = 1e-15)$value
}

limits <- function(t, df, cdf) {
  w <- 10 + 2 * abs(t)
  sapply(probs, function(p) uniroot(function(ncp) cdf(t, df, ncp) - p, c(t - w, t + w),
                                    extendInt = "downX", tol = 1e-13, maxiter = 10000)$root)
}

ds <- sort(c(seq(-3, 3, by = 0.25), -0.85, -0.3, 0.3, 0.85))  # 0.85 at n = 100: the case in issue 9
sizes <- rbind(
  cbind(c(5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
        c(5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)),
  cbind(c(5, 12, 40, 60, 300, 1000, 5000, 7),
        c(20, 5, 90, 600, 100, 50, 150, 5000))
)
rows <- list()
for (k in seq_len(nrow(sizes))) {
  nx <- sizes[k, 1]; ny <- sizes[k, 2]
  for (d in ds) {
    scale <- sqrt(1 / nx + 1 / ny)
    t <- d / scale; df <- nx + ny - 2
    pt_lim <- limits(t, df, function(t, df, ncp) pt(t, df, ncp)) * scale
    int_lim <- limits(t, df, cdf_integral) * scale
    rows[[length(rows) + 1]] <- list(d = d, n_x = nx, n_y = ny, df = df,
                                     d_ci_pt = pt_lim, d_ci_integral = int_lim)
  }
}
out <- list(
  R = R.version.string, level = level,
  note = paste("d_ci_pt: uniroot on pt(t, df, ncp); d_ci_integral: uniroot on the CDF by",
               "integrate(); both with tol 1e-13"),
  grid = rows)
write_json(out, "tests/reference/effect_sizes.json", digits = NA, auto_unbox = TRUE, pretty = FALSE)
mx <- max(sapply(rows, function(r) max(abs(r$d_ci_pt - r$d_ci_integral))))
cat("rows", length(rows), "max |pt - integral| on the d scale", mx, "\n")
