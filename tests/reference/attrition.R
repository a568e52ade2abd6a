# Reference values for attrition, completers-only sensitivity and response rates (issue 10
# item 3) and for the cohort-sequential model (item 4): empathy_metrics.cohorts.attrition and
# empathy_metrics.cohorts.cohort_sequential.
# Run from the repository root:  Rscript tests/reference/attrition.R
# Writes tests/reference/data/attrition_sim.csv (a cohort-sequential design: entering cohorts
# 2019-2022 observed until calendar year 2022, so the 2019 cohort reaches year 4 and the 2022
# cohort only year 1; students with lower empathy are more likely to stop answering for good,
# plus a little intermittent non-response), tests/reference/data/attrition_enrolled.csv
# (enrolment per cohort and year) and tests/reference/attrition.json.
# R 4.2.2, lme4 1.1.31, lmerTest 3.1.3, effectsize 0.8.3, jsonlite 1.8.4.
suppressPackageStartupMessages({
  library(lme4)
  library(effectsize)
  library(jsonlite)
})
set.seed(20261201)

cohorts <- c(2019, 2020, 2021, 2022)
sizes <- c(72, 66, 60, 64)
year_effect <- c(0, -0.1, -0.5, -0.45)  # latent SD units
cohort_effect <- c(0, -0.1, -0.2, -0.3) # later cohorts start lower (different students)
reverse <- c(1, 3, 6, 7, 8, 11, 12, 14, 18, 19)
rows <- list()
pid <- 0
for (ci in seq_along(cohorts)) {
  last_year <- min(4, 2022 - cohorts[ci] + 1)
  for (s in seq_len(sizes[ci])) {
    pid <- pid + 1
    gender <- sample(c("women", "men"), 1, prob = c(0.55, 0.45))
    theta <- rnorm(1)
    for (yr in seq_len(last_year)) {
      if (yr > 1 && runif(1) < 0.06) next  # skips one year, may come back
      eta <- theta + year_effect[yr] + cohort_effect[ci] +
        ifelse(gender == "women", 0.3, 0) + rnorm(1, 0, 0.4)
      keyed <- pmin(7, pmax(1, round(5.7 + 0.55 * eta + rnorm(20, 0, 0.9))))
      raw <- keyed
      raw[reverse] <- 8 - keyed[reverse]
      row <- data.frame(id = sprintf("A%03d", pid), cohort = cohorts[ci], year = yr,
                        gender = gender, stringsAsFactors = FALSE)
      items <- as.data.frame(t(raw))
      names(items) <- paste0("JSE", 1:20)
      rows[[length(rows) + 1]] <- cbind(row, items)
      # after answering, lower-empathy students are more likely never to answer again
      if (runif(1) < plogis(-2.0 - 1.0 * theta)) break
    }
  }
}
d <- do.call(rbind, rows)
write.csv(d, "tests/reference/data/attrition_sim.csv", row.names = FALSE)
enrolled <- do.call(rbind, lapply(seq_along(cohorts), function(ci) {
  last_year <- min(4, 2022 - cohorts[ci] + 1)
  yrs <- seq_len(last_year)
  data.frame(cohort = cohorts[ci], year = yrs, enrolled = sizes[ci] + 2 - (yrs - 1))
}))
write.csv(enrolled, "tests/reference/data/attrition_enrolled.csv", row.names = FALSE)

keyed <- as.matrix(d[, paste0("JSE", 1:20)])
keyed[, reverse] <- 8 - keyed[, reverse]
d$total <- rowSums(keyed)
times <- sort(unique(d$year))
ref <- times[1]
out <- list(seed = 20261201, reference = ref)

welch_d <- function(x, y) {
  tt <- t.test(x, y, var.equal = FALSE)
  cd <- cohens_d(x, y, pooled_sd = TRUE, ci = 0.95)
  hg <- hedges_g(x, y, pooled_sd = TRUE, ci = 0.95)
  list(diff = mean(x) - mean(y), diff_ci = unname(tt$conf.int[1:2]), diff_p = tt$p.value,
       d = cd$Cohens_d, d_ci = c(cd$CI_low, cd$CI_high), g = hg$Hedges_g)
}

# --- who left: baseline (year 1) total of students seen again later vs never seen again
base <- d[d$year == ref, ]
later_ids <- unique(d$id[d$year > ref])
base$seen_later <- base$id %in% later_ids
attr_rows <- list()
for (co in c(cohorts, "all")) {
  b <- if (co == "all") base else base[base$cohort == co, ]
  if (co != "all" && !any(d$cohort == co & d$year > ref)) next  # no later wave yet
  if (co == "all") b <- b[b$cohort %in% unique(d$cohort[d$year > ref]), ]
  lost <- b$total[!b$seen_later]
  kept <- b$total[b$seen_later]
  r <- list(cohort = co, n_baseline = nrow(b), n_seen_later = length(kept),
            n_not_seen = length(lost), mean_seen_later = mean(kept), sd_seen_later = sd(kept),
            mean_not_seen = mean(lost), sd_not_seen = sd(lost))
  if (length(lost) >= 2 && length(kept) >= 2) r <- c(r, welch_d(lost, kept))
  attr_rows[[length(attr_rows) + 1]] <- r
}
out$attrition <- attr_rows

# --- completers only vs all available: change from year 1 of the total
# completers: seen at every year their cohort has reached (any member observed that year)
reached <- tapply(d$year, d$cohort, function(v) sort(unique(v)))
per_id <- split(d$year, d$id)
cohort_of <- tapply(d$cohort, d$id, function(v) v[1])
completer <- sapply(names(per_id), function(i) {
  all(reached[[as.character(cohort_of[[i]])]] %in% per_id[[i]])
})
comp_ids <- names(per_id)[completer]
sens <- list()
for (t in times[-1]) {
  x <- d$total[d$year == t]
  xr <- d$total[d$year == ref]
  tt <- t.test(x, xr, var.equal = FALSE)
  a <- d[d$year == ref & d$id %in% comp_ids, c("id", "total")]
  b <- d[d$year == t & d$id %in% comp_ids, c("id", "total")]
  m <- merge(a, b, by = "id")
  pt <- t.test(m$total.y, m$total.x, paired = TRUE)
  sens[[length(sens) + 1]] <- list(
    time = t, n_all = length(x), all_diff = mean(x) - mean(xr),
    all_ci = unname(tt$conf.int[1:2]), n_completers = nrow(m),
    n_completers_at_time = sum(d$year == t & d$id %in% comp_ids),
    completers_diff = unname(pt$estimate), completers_ci = unname(pt$conf.int[1:2]),
    completers_p = pt$p.value)
}
out$sensitivity <- sens
out$n_completers <- length(comp_ids)

# --- response rates per cohort and year, beside the change in mean score from year 1
n_cell <- aggregate(total ~ cohort + year, data = d, FUN = length)
m_cell <- aggregate(total ~ cohort + year, data = d, FUN = mean)
rr <- merge(merge(n_cell, m_cell, by = c("cohort", "year"), suffixes = c("_n", "_mean")),
            enrolled, by = c("cohort", "year"))
rr$rate <- rr$total_n / rr$enrolled
rr <- rr[order(rr$cohort, rr$year), ]
rr$rate_change <- NA
rr$mean_change <- NA
for (i in seq_len(nrow(rr))) {
  r0 <- rr[rr$cohort == rr$cohort[i] & rr$year == ref, ]
  rr$rate_change[i] <- rr$rate[i] - r0$rate
  rr$mean_change[i] <- rr$total_mean[i] - r0$total_mean
}
out$response_rates <- lapply(seq_len(nrow(rr)), function(i) {
  list(cohort = rr$cohort[i], time = rr$year[i], enrolled = rr$enrolled[i], n = rr$total_n[i],
       rate = rr$rate[i], rate_change = rr$rate_change[i], mean = rr$total_mean[i],
       mean_change = rr$mean_change[i])
})

# --- cohort-sequential: year of training and entering cohort in one model (total score)
d$fyear <- factor(d$year)
d$fcohort <- factor(d$cohort)
m_ml0 <- lmer(total ~ fyear + fcohort + (1 | id), data = d, REML = FALSE)
m_ml1 <- lmer(total ~ fyear * fcohort + (1 | id), data = d, REML = FALSE)
lrt <- anova(m_ml0, m_ml1)
m_reml <- lmerTest::lmer(total ~ fyear + fcohort + (1 | id), data = d, REML = TRUE)
fe <- summary(m_reml)$coefficients
terms <- list()
for (j in seq_len(nrow(fe))) {
  nm <- rownames(fe)[j]
  nm <- if (nm == "(Intercept)") "Intercept" else
    sub("^fyear(.*)$", "time[\\1]", sub("^fcohort(.*)$", "cohort[\\1]", nm))
  terms[[nm]] <- list(estimate = fe[j, "Estimate"], se = fe[j, "Std. Error"],
                      df = fe[j, "df"], p = fe[j, "Pr(>|t|)"])
}
vc <- as.data.frame(VarCorr(m_reml))
out$cohort_sequential <- list(
  terms = terms, sigma = sigma(m_reml), sd_intercept = vc$sdcor[vc$grp == "id"],
  reml = REMLcrit(m_reml), n_obs = nobs(m_reml),
  interaction = list(loglik_main = as.numeric(logLik(m_ml0)),
                     loglik_interaction = as.numeric(logLik(m_ml1)),
                     chisq = lrt$Chisq[2], df = lrt$Df[2], p = lrt$`Pr(>Chisq)`[2],
                     n_params_main = attr(logLik(m_ml0), "df"),
                     n_params_interaction = attr(logLik(m_ml1), "df")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/attrition.json")
