# Reference values for "change that matters" (issue 10 item 5): empathy_metrics.cohorts.change.
# Run from the repository root:  Rscript tests/reference/change.R
# Reads tests/reference/data/decline_sim.csv (written by cohorts.R), writes
# tests/reference/change.json. R 4.2.2, psych 2.2.9, effectsize 0.8.3, jsonlite 1.8.4.
# Per scale and year: SD, Cronbach's alpha of that year's keyed items (psych::alpha raw_alpha),
# SEM = SD * sqrt(1 - alpha), the change from year 1 in scale points and per item (Welch CI / k),
# Cohen's d; reliable change from year 1 (Jacobson & Truax: S_diff = sqrt(2) * SEM_year1,
# threshold 1.96 * S_diff) as counts and shares of the students seen at both times.
suppressPackageStartupMessages({
  library(psych)
  library(effectsize)
  library(jsonlite)
})
d <- read.csv("tests/reference/data/decline_sim.csv", stringsAsFactors = FALSE)
reverse <- c(1, 3, 6, 7, 8, 11, 12, 14, 18, 19)
scales <- list(
  perspective_taking = c(2, 4, 5, 9, 10, 13, 15, 16, 17, 20),
  compassionate_care = c(1, 7, 8, 11, 12, 14, 18, 19),
  standing_in_patients_shoes = c(3, 6),
  total = 1:20
)
keyed <- as.matrix(d[, paste0("JSE", 1:20)])
keyed[, reverse] <- 8 - keyed[, reverse]
times <- sort(unique(d$year))
ref <- times[1]
out <- list(reference = ref, scales = list())
for (s in names(scales)) {
  k <- length(scales[[s]])
  y <- rowSums(keyed[, scales[[s]], drop = FALSE])
  alpha_at <- function(t) {
    suppressWarnings(psych::alpha(as.data.frame(keyed[d$year == t, scales[[s]], drop = FALSE]),
                                  check.keys = FALSE, warnings = FALSE))$total$raw_alpha
  }
  sem_ref <- sd(y[d$year == ref]) * sqrt(1 - alpha_at(ref))
  s_diff <- sqrt(2) * sem_ref
  rows <- lapply(times, function(t) {
    x <- y[d$year == t]
    xr <- y[d$year == ref]
    a <- alpha_at(t)
    res <- list(time = t, n = length(x), sd = sd(x), alpha = a, sem = sd(x) * sqrt(1 - a),
                sem_per_item = sd(x) * sqrt(1 - a) / k)
    if (t != ref) {
      tt <- t.test(x, xr, var.equal = FALSE)
      res$diff <- mean(x) - mean(xr)
      res$diff_per_item <- (mean(x) - mean(xr)) / k
      res$diff_per_item_ci <- unname(tt$conf.int[1:2]) / k
      res$d <- cohens_d(x, xr, pooled_sd = TRUE)$Cohens_d
      a0 <- data.frame(id = d$id[d$year == ref], y0 = xr)
      b <- data.frame(id = d$id[d$year == t], y1 = x)
      m <- merge(a0, b, by = "id")
      rci <- (m$y1 - m$y0) / s_diff
      res$rc_threshold <- 1.96 * s_diff
      res$rc_threshold_exact <- qnorm(0.975) * s_diff
      res$n_pairs <- nrow(m)
      res$decline <- sum(rci < -qnorm(0.975))
      res$improvement <- sum(rci > qnorm(0.975))
      res$decline_share <- res$decline / nrow(m)
      res$improvement_share <- res$improvement / nrow(m)
    }
    res
  })
  out$scales[[s]] <- list(n_items = k, s_diff = s_diff, by_time = rows)
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/change.json")
