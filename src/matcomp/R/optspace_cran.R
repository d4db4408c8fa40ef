# OptSpace as CRAN's ROptSpace 0.2.4 runs it ("builtin-cran"): written for matcomp from a description of
# that package's steps (matcomp issue 12), not from its code, so that the paper's OPT curve can be redrawn
# where CRAN is unreachable.  The published algorithm (geodesic steps, Armijo search) is optspace.R's
# optspace_builtin ("builtin-published"); the two give different numbers at low sample sizes.
#
# The steps, as described:
#   1. rescale the observed matrix M_E by sqrt(|E| r / ||M_E||_F^2) (mean square of the observed entries = r);
#   2. trim over-represented rows and columns;
#   3. top-r SVD of the trimmed matrix: X0 = U sqrt(n), Y0 = V sqrt(m), S0 = Sigma / eps, eps = |E| / sqrt(m n);
#   4. `niter` times (stop early once dist < tol): the gradient (W, Z) of the cost f(X, Y, S), a straight-line
#      move X <- X + t W, Y <- Y + t Z (no geodesic, no re-orthonormalisation), S re-solved by least squares;
#   5. the step t: start at -0.1 and halve up to 20 times, accepting the first trial with
#      f(t) - f(previous trial) <= 0.5 t (||W||_F^2 + ||Z||_F^2), the first trial being compared with f(0);
#      with none accepted, t = -0.1 * 2^-20.  (The published MATLAB code compares every trial with f(0).)
#      Comparing with the previous trial accepts steps that raise f whenever an earlier, longer trial raised
#      it more: this is what stalls the method at low sample sizes.
#
# Decisions where the description leaves room (matcomp records them with every result, optspace.py's
# IMPLEMENTATION_NOTES):
#   - cost: f = 1/2 ||P_E(X S Y' - M_E)||_F^2 + rho G(X, Y) with rho = 0, so the incoherence regulariser G
#     (m0 = 10 000) drops out and (W, Z) = (R Y S', R' X S), R = P_E(X S Y' - M_E): the Euclidean gradient of
#     the squared residual on E.  The published code's tangent-space correction (-X X'W / n) is left out: it
#     is zero whenever S is the least-squares S for (X, Y) (the normal equations say X' R Y = 0), which S is
#     at every gradient here.
#   - f(t) in the step search keeps S fixed at the current least-squares S.
#   - S at the start: S0 = Sigma / eps is replaced by the least-squares S for (X0, Y0) before the first
#     gradient, as the published code does.  Keeping S0 for the first gradient instead stalls at 3 000
#     entries (rank 5, 100 x 100: relative error ~0.5 after 500 iterations on four instances), which
#     contradicts the measured ROptSpace 0.2.4 (2.4e-6 there); with the re-fit the residual is flat from the
#     first iteration at 2 000 entries, as measured for ROptSpace.
#   - dist (and tol): the RMS residual over the observed entries of the rescaled matrix,
#     ||P_E(X S Y' - M_E)||_F / sqrt(|E|); dist[1] is the start's.  (The data's own RMS there is sqrt(r).)
#   - trimming: rows (columns) with more than twice the average number of observed entries are zeroed, as in
#     Keshavan, Montanari & Oh (2010) and optspace.R; uniform 100 x 100 samples never reach that.
#   - rank: `ropt`, or optspace.R's estimate (Keshavan & Oh 2009) when NA.
#   - the result: S divided by the rescale factor, so that X S Y' approximates A.

# f(X, Y, S) = 1/2 ||P_E(X S Y' - M_E)||_F^2 (rho = 0).
.optspace_cran_cost <- function(X, Y, S, ME, E) {
  sum(((X %*% S %*% t(Y) - ME) * E)^2) / 2
}

# The step search of step 5; returns t (negative: W, Z point uphill).
.optspace_cran_step <- function(X, Y, S, W, Z, ME, E) {
  g2 <- sum(W^2) + sum(Z^2)
  f_prev <- .optspace_cran_cost(X, Y, S, ME, E)
  t <- -0.1
  for (k in seq_len(20L)) {
    f_t <- .optspace_cran_cost(X + t * W, Y + t * Z, S, ME, E)
    if (isTRUE(f_t - f_prev <= 0.5 * t * g2)) return(t)
    f_prev <- f_t  # the next trial is compared with this one, not with f(0)
    t <- t / 2
  }
  t
}

# Zero the rows and columns observed more than twice as often as the average.
.optspace_cran_trim <- function(ME, E) {
  nE <- sum(E)
  ME[rowSums(E) > 2 * nE / nrow(E), ] <- 0
  ME[, colSums(E) > 2 * nE / ncol(E)] <- 0
  ME
}

optspace_cran <- function(A, ropt = NA, niter = 50, tol = 1e-6) {
  obs <- .optspace_observed(A)
  A <- obs$A
  E <- obs$E
  nE <- obs$nE
  n <- nrow(A)
  m <- ncol(A)
  ME <- A
  ME[!E] <- 0
  eps <- nE / sqrt(m * n)
  Mt <- .optspace_cran_trim(ME, E)
  if (length(ropt) != 1L || is.na(ropt)) {
    r <- .optspace_guess_rank(svd(Mt, nu = 0L, nv = 0L)$d, eps)
  } else {
    r <- as.integer(ropt)
  }
  if (r < 1L || r > min(n, m)) stop(sprintf("OptSpace: rank must be in 1..%d, got %d", min(n, m), r))
  norm2 <- sum(ME^2)
  rescale <- if (norm2 > 0) sqrt(nE * r / norm2) else 1
  ME <- ME * rescale
  Mt <- Mt * rescale

  s0 <- svd(Mt, nu = r, nv = r)
  X <- s0$u * sqrt(n)
  Y <- s0$v * sqrt(m)
  idx <- which(E, arr.ind = TRUE)
  v <- ME[idx]
  # S0 = Sigma / eps is the spectral start's S; it is replaced by the least-squares S (see the header).
  S <- .optspace_opt_S(X, Y, idx[, 1L], idx[, 2L], v)
  dist <- sqrt(2 * .optspace_cran_cost(X, Y, S, ME, E) / nE)
  for (it in seq_len(niter)) {
    R <- (X %*% S %*% t(Y) - ME) * E
    W <- R %*% Y %*% t(S)
    Z <- crossprod(R, X) %*% S
    t <- .optspace_cran_step(X, Y, S, W, Z, ME, E)
    X <- X + t * W
    Y <- Y + t * Z
    S <- .optspace_opt_S(X, Y, idx[, 1L], idx[, 2L], v)
    dist <- c(dist, sqrt(2 * .optspace_cran_cost(X, Y, S, ME, E) / nE))
    if (isTRUE(dist[length(dist)] < tol)) break
  }
  list(X = X, S = S / rescale, Y = Y, dist = dist)
}
