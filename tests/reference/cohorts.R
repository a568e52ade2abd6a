# Reference values for empathy_metrics.cohorts (tracker issue 4).
# Run from the repository root:  Rscript tests/reference/cohorts.R
# Writes tests/reference/data/decline_sim.csv (simulated Jefferson-like data: 4 entering cohorts
# followed over 4 training years, ids repeating, a drop in year 3, women higher than men, a tiny
# "nonbinary" group that must be suppressed) and tests/reference/cohorts.json.
# Also writes tests/reference/data/slope_sim.csv (a longitudinal outcome with a true random slope)
# for the random-slope models.
# R 4.2.2, lme4 1.1.31, effectsize 0.8.3 (Debian r-cran-effectsize), jsonlite.
suppressPackageStartupMessages({
  library(lme4)
  library(effectsize)
  library(jsonlite)
})
set.seed(20261124)

cohorts <- c(2019, 2020, 2021, 2022)
sizes <- c(44, 40, 38, 42)
year_effect <- c(0, -0.05, -0.55, -0.45)  # latent SD units: the drop comes in year 3
reverse <- c(1, 3, 6, 7, 8, 11, 12, 14, 18, 19)
scales <- list(
  perspective_taking = c(2, 4, 5, 9, 10, 13, 15, 16, 17, 20),
  compassionate_care = c(1, 7, 8, 11, 12, 14, 18, 19),
  standing_in_patients_shoes = c(3, 6),
  total = 1:20
)

rows <- list()
pid <- 0
for (ci in seq_along(cohorts)) {
  for (s in seq_len(sizes[ci])) {
    pid <- pid + 1
    gender <- sample(c("women", "men", "nonbinary"), 1, prob = c(0.55, 0.42, 0.03))
    theta <- rnorm(1)
    for (yr in 1:4) {
      if (yr > 1 && runif(1) < 0.12) next  # attrition / non-response
      eta <- theta + year_effect[yr] + ifelse(gender == "women", 0.3, 0) + rnorm(1, 0, 0.4)
      keyed <- pmin(7, pmax(1, round(5.7 + 0.55 * eta + rnorm(20, 0, 0.9))))
      raw <- keyed
      raw[reverse] <- 8 - keyed[reverse]
      row <- data.frame(id = sprintf("S%03d", pid), cohort = cohorts[ci], year = yr,
                        gender = gender, stringsAsFactors = FALSE)
      items <- as.data.frame(t(raw))
      names(items) <- paste0("JSE", 1:20)
      rows[[length(rows) + 1]] <- cbind(row, items)
    }
  }
}
d <- do.call(rbind, rows)
write.csv(d, "tests/reference/data/decline_sim.csv", row.names = FALSE)

item_cols <- paste0("JSE", 1:20)
keyed <- as.matrix(d[, item_cols])
keyed[, reverse] <- 8 - keyed[, reverse]
for (s in names(scales)) d[[s]] <- rowSums(keyed[, scales[[s]], drop = FALSE])

# Exact noncentral-t CI of d (Steiger & Fouladi 1997) by uniroot to 1e-13; effectsize 0.8.3
# gets the same limits by Nelder-Mead (optim abstol 1e-9), accurate to about 1e-6 only.
d_ci_exact <- function(x, y, level = 0.95) {
  nx <- length(x); ny <- length(y); df <- nx + ny - 2
  sp <- sqrt(((nx - 1) * var(x) + (ny - 1) * var(y)) / df)
  sc <- sqrt(1 / nx + 1 / ny)
  t <- (mean(x) - mean(y)) / sp / sc
  f <- function(p) uniroot(function(ncp) pt(t, df, ncp) - p, c(t - 10 - 2 * abs(t),
                           t + 10 + 2 * abs(t)), tol = 1e-13)$root
  c(f((1 + level) / 2), f((1 - level) / 2)) * sc
}

times <- sort(unique(d$year))
ref <- times[1]
alpha_of <- function(m) {
  k <- ncol(m)
  k / (k - 1) * (1 - sum(apply(m, 2, var)) / var(rowSums(m)))
}

out <- list(seed = 20261124, reference = ref, scales = list())
for (s in names(scales)) {
  y <- d[[s]]
  by_time <- lapply(times, function(t) {
    x <- y[d$year == t]
    xr <- y[d$year == ref]
    q <- quantile(x, c(0.25, 0.5, 0.75), type = 7)
    res <- list(time = t, n = length(x), mean = mean(x), sd = sd(x),
                ci = unname(t.test(x)$conf.int[1:2]), median = unname(q[2]),
                q1 = unname(q[1]), q3 = unname(q[3]))
    if (t != ref) {
      tt <- t.test(x, xr, var.equal = FALSE)
      cd <- cohens_d(x, xr, pooled_sd = TRUE, ci = 0.95)
      hg <- hedges_g(x, xr, pooled_sd = TRUE, ci = 0.95)
      res$diff <- unname(mean(x) - mean(xr))
      res$diff_ci <- unname(tt$conf.int[1:2])
      res$diff_p <- tt$p.value
      res$diff_df <- unname(tt$parameter)
      res$d <- cd$Cohens_d
      res$d_ci <- c(cd$CI_low, cd$CI_high)
      res$d_ci_exact <- d_ci_exact(x, xr)
      res$g <- hg$Hedges_g
      res$g_ci <- c(hg$CI_low, hg$CI_high)
    }
    res
  })
  ow <- oneway.test(y ~ factor(d$year), var.equal = FALSE)
  kw <- kruskal.test(y ~ factor(d$year))
  adj <- lapply(seq_along(times)[-1], function(i) {
    tt <- t.test(y[d$year == times[i]], y[d$year == times[i - 1]], var.equal = FALSE)
    list(from = times[i - 1], to = times[i], diff = unname(tt$estimate[1] - tt$estimate[2]),
         t = unname(tt$statistic), df = unname(tt$parameter), p = tt$p.value)
  })
  p_holm <- p.adjust(sapply(adj, `[[`, "p"), "holm")
  for (i in seq_along(adj)) adj[[i]]$p_holm <- p_holm[i]
  ols <- summary(lm(y ~ d$year))$coefficients
  dd <- data.frame(y = y, year = d$year, id = d$id)
  m_cat <- lmer(y ~ factor(year) + (1 | id), data = dd, REML = TRUE)
  m_lin <- lmer(y ~ year + (1 | id), data = dd, REML = TRUE)
  vc <- as.data.frame(VarCorr(m_cat))
  vcl <- as.data.frame(VarCorr(m_lin))
  fe <- summary(m_cat)$coefficients
  fel <- summary(m_lin)$coefficients
  wald <- confint(m_cat, parm = "beta_", method = "Wald")
  terms <- list()
  for (j in seq_len(nrow(fe))) {
    nm <- rownames(fe)[j]
    nm <- if (nm == "(Intercept)") "Intercept" else sub("factor\\(year\\)", "time[", nm)
    if (nm != "Intercept") nm <- paste0(nm, "]")
    terms[[nm]] <- list(estimate = fe[j, 1], se = fe[j, 2], ci = unname(wald[j, ]),
                        p_wald = 2 * pnorm(-abs(fe[j, 1] / fe[j, 2])))
  }
  # reliable change from year 1 to each later year (Jacobson & Truax 1991)
  base <- d$year == ref
  alpha <- alpha_of(keyed[base, scales[[s]], drop = FALSE])
  s_diff <- sqrt(2) * sd(y[base]) * sqrt(1 - alpha)
  rc <- lapply(times[-1], function(t) {
    a <- dd[dd$year == ref, ]
    b <- dd[dd$year == t, ]
    m <- merge(a, b, by = "id")
    rci <- (m$y.y - m$y.x) / s_diff
    list(from = ref, to = t, n = nrow(m), decline = sum(rci < -1.96),
         no_change = sum(abs(rci) <= 1.96), improvement = sum(rci > 1.96))
  })
  paired <- lapply(seq_along(times)[-1], function(i) {
    a <- dd[dd$year == times[i - 1], ]
    b <- dd[dd$year == times[i], ]
    m <- merge(a, b, by = "id")
    tt <- t.test(m$y.y, m$y.x, paired = TRUE)
    list(from = times[i - 1], to = times[i], n = nrow(m), diff = unname(tt$estimate),
         ci = unname(tt$conf.int[1:2]), p = tt$p.value)
  })
  groups <- lapply(times, function(t) {
    w <- y[d$year == t & d$gender == "women"]
    mn <- y[d$year == t & d$gender == "men"]
    tt <- t.test(mn, w, var.equal = FALSE)
    cd <- cohens_d(mn, w, pooled_sd = TRUE)
    list(time = t, group = "men", reference_group = "women", diff = mean(mn) - mean(w),
         diff_ci = unname(tt$conf.int[1:2]), d = cd$Cohens_d, d_ci = c(cd$CI_low, cd$CI_high),
         d_ci_exact = d_ci_exact(mn, w))
  })
  cohort_diffs <- list()
  for (t in times) for (co in cohorts[-1]) {
    a <- y[d$year == t & d$cohort == co]
    b <- y[d$year == t & d$cohort == cohorts[1]]
    tt <- t.test(a, b, var.equal = FALSE)
    cd <- cohens_d(a, b, pooled_sd = TRUE)
    hg <- hedges_g(a, b, pooled_sd = TRUE)
    cohort_diffs[[length(cohort_diffs) + 1]] <- list(
      time = t, cohort = co, reference_cohort = cohorts[1], diff = mean(a) - mean(b),
      diff_ci = unname(tt$conf.int[1:2]), d = cd$Cohens_d, d_ci_exact = d_ci_exact(a, b),
      g = hg$Hedges_g)
  }
  cohort_means <- aggregate(y ~ cohort + year, data = d, FUN = mean)
  cohort_n <- aggregate(y ~ cohort + year, data = d, FUN = length)
  cohort_sd <- aggregate(y ~ cohort + year, data = d, FUN = sd)
  cohort_ci <- aggregate(y ~ cohort + year, data = d, FUN = function(v) t.test(v)$conf.int[1:2])
  out$scales[[s]] <- list(
    by_time = by_time,
    welch_anova = list(statistic = unname(ow$statistic), df1 = unname(ow$parameter[1]),
                       df2 = unname(ow$parameter[2]), p = ow$p.value),
    kruskal = list(statistic = unname(kw$statistic), df = unname(kw$parameter), p = kw$p.value),
    adjacent = adj,
    ols_slope = list(estimate = ols[2, 1], se = ols[2, 2], p = ols[2, 4]),
    mixed_model = list(terms = terms, sigma = sigma(m_cat),
                       sd_intercept = vc$sdcor[vc$grp == "id"], n_obs = nobs(m_cat),
                       n_groups = unname(ngrps(m_cat))),
    mixed_linear = list(estimate = fel[2, 1], se = fel[2, 2],
                        ci = unname(confint(m_lin, parm = "beta_", method = "Wald")[2, ]),
                        intercept = fel[1, 1], sigma = sigma(m_lin),
                        sd_intercept = vcl$sdcor[vcl$grp == "id"]),
    alpha_baseline = alpha,
    reliable_change = rc,
    paired = paired,
    groups = groups,
    cohort_differences = cohort_diffs,
    cohorts = lapply(seq_len(nrow(cohort_means)), function(i) {
      list(cohort = cohort_means$cohort[i], time = cohort_means$year[i],
           n = cohort_n$y[i], mean = cohort_means$y[i], sd = cohort_sd$y[i],
           ci = unname(cohort_ci$y[i, ]))
    })
  )
}
# Random slope: 150 respondents, 4 waves, a true random slope (SD 1.5 points per wave,
# correlation -0.3 with the intercept) and 10 % attrition after wave 1.
set.seed(20261125)
n_rs <- 150
u0 <- rnorm(n_rs, 0, 8)
u1 <- -0.3 * 1.5 / 8 * u0 + rnorm(n_rs, 0, 1.5 * sqrt(1 - 0.3^2))
rs <- do.call(rbind, lapply(seq_len(n_rs), function(i) {
  w <- 1:4
  w <- w[w == 1 | runif(4) > 0.1]
  data.frame(id = sprintf("R%03d", i), wave = w,
             score = round(112 + u0[i] + (-1.8 + u1[i]) * (w - 1) - 1.5 * (w == 3) +
                           rnorm(length(w), 0, 4), 3))
}))
write.csv(rs, "tests/reference/data/slope_sim.csv", row.names = FALSE)
slope_model <- function(m) {
  fe <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  wald <- confint(m, parm = "beta_", method = "Wald")
  terms <- list()
  for (j in seq_len(nrow(fe))) {
    nm <- rownames(fe)[j]
    nm <- if (nm == "(Intercept)") "Intercept" else if (nm == "wave") "time" else
      paste0(sub("factor\\(wave\\)", "time[", nm), "]")
    terms[[nm]] <- list(estimate = fe[j, 1], se = fe[j, 2], ci = unname(wald[j, ]))
  }
  list(terms = terms, sigma = sigma(m),
       sd_intercept = vc$sdcor[vc$grp == "id" & vc$var1 == "(Intercept)" & is.na(vc$var2)],
       sd_slope = vc$sdcor[vc$grp == "id" & vc$var1 == "wave" & is.na(vc$var2)],
       cor_intercept_slope = vc$sdcor[vc$grp == "id" & !is.na(vc$var2)],
       n_obs = nobs(m), n_groups = unname(ngrps(m)), reml = REMLcrit(m),
       singular = isSingular(m))
}
m_rs_cat <- lmer(score ~ factor(wave) + (1 + wave | id), data = rs, REML = TRUE)
m_rs_lin <- lmer(score ~ wave + (1 + wave | id), data = rs, REML = TRUE)
m_ri_cat <- lmer(score ~ factor(wave) + (1 | id), data = rs, REML = TRUE)
out$random_slope <- list(categorical = slope_model(m_rs_cat), linear = slope_model(m_rs_lin),
                         intercept_only = list(sigma = sigma(m_ri_cat)))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/cohorts.json")
