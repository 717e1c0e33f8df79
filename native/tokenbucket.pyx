"""Keyed token buckets with AIMD rates: compiled twin of ``postwave.shaping.tokenbucket``.

The twin is the specification (docstrings, semantics, error messages); this module is the
same algorithm with the bucket state in C doubles. The arithmetic is done in the same order
as the twin's, so both give bit-identical results (tests/native/ checks it).

Speed: a call costs little more than the Python method call itself. Most of the rest was
the dict lookup of the key (hashing and comparing a str or tuple), so the last buckets
used are also kept in a small cache indexed by the key object's *identity*: a caller that
passes the same key object every time (the shaper keeps one per tenant, IP and site)
skips the dict. The cache holds strong references, so an id is never reused while cached;
an equal but distinct key object simply misses it and takes the dict path.
"""

from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.long cimport PyLong_AsDouble, PyLong_CheckExact
from cpython.tuple cimport PyTuple_GET_ITEM
from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from libc.math cimport isfinite
from libc.stdint cimport uintptr_t

__all__ = ["TokenBuckets"]

# Slots of the identity cache (a power of two); a handful of keys are hot at any time.
cdef enum:
    CACHE = 64


cdef inline double _check(str name, object value, bint positive=False) except? -1.0:
    cdef double v
    if PyFloat_CheckExact(value):
        v = PyFloat_AS_DOUBLE(value)
    elif PyLong_CheckExact(value):
        v = PyLong_AsDouble(value)
        if v == -1.0 and value != -1:
            raise OverflowError("int too large to convert to float")
    else:
        v = float(value)
    if not isfinite(v) or v < 0 or (positive and v == 0):
        _refuse(name, v, positive)
    return v


cdef int _refuse(str name, double v, bint positive) except -1:
    raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, not {v!r}")


cdef class _Bucket:
    cdef double tokens, stamp, rate, ceiling, burst

    cdef inline void refill(self, double now) noexcept:
        cdef double tokens
        if now > self.stamp:
            tokens = self.tokens + (now - self.stamp) * self.rate
            self.tokens = tokens if tokens < self.burst else self.burst
            self.stamp = now


cdef _Bucket _new_bucket(double rate, double burst, double now):
    cdef _Bucket bucket = _Bucket.__new__(_Bucket)
    bucket.tokens = burst
    bucket.stamp = now
    bucket.rate = rate
    bucket.ceiling = rate
    bucket.burst = burst
    return bucket


cdef class TokenBuckets:
    """Token buckets by key: see :class:`postwave.shaping.tokenbucket.TokenBuckets`."""

    cdef dict _buckets
    cdef double _rate, _burst, _decrease, _increase, _floor
    # key object -> its bucket, by identity; both owned references (or NULL).
    cdef PyObject* _cache_keys[CACHE]
    cdef PyObject* _cache_buckets[CACHE]

    def __init__(self, rate, burst=None, *, decrease_factor=0.5, increase_fraction=0.1, min_fraction=0.01):
        self._rate = _check("rate", rate, True)
        self._burst = max(1.0, self._rate) if burst is None else _check("burst", burst, True)
        if not 0 < decrease_factor < 1:
            raise ValueError("decrease_factor must be between 0 and 1")
        if not 0 < increase_fraction <= 1:
            raise ValueError("increase_fraction must be in (0, 1]")
        if not 0 < min_fraction <= 1:
            raise ValueError("min_fraction must be in (0, 1]")
        self._decrease = float(decrease_factor)
        self._increase = float(increase_fraction)
        self._floor = float(min_fraction)
        self._buckets = {}

    def __dealloc__(self):
        self._forget_cache()

    cdef void _forget_cache(self) noexcept:
        cdef int i
        for i in range(CACHE):
            Py_XDECREF(self._cache_keys[i])
            Py_XDECREF(self._cache_buckets[i])
            self._cache_keys[i] = NULL
            self._cache_buckets[i] = NULL

    def __len__(self):
        return len(self._buckets)

    def __contains__(self, key):
        return key in self._buckets

    def configure(self, key, rate, burst, now):
        """Set ``key``'s ceiling rate and burst; see the twin."""
        cdef double r = _check("rate", rate, True)
        cdef double b = max(1.0, r) if burst is None else _check("burst", burst, True)
        cdef double t = _check("now", now)
        cdef _Bucket bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _new_bucket(r, b, t)
            return
        bucket.refill(t)
        bucket.rate = r
        bucket.ceiling = r
        bucket.burst = b
        if bucket.tokens > b:
            bucket.tokens = b

    def remove(self, key):
        """Forget ``key``."""
        if self._buckets.pop(key, None) is not None:
            self._forget_cache()  # its bucket may be cached under any equal key object

    cdef inline _Bucket _bucket(self, object key, double now):
        # Pointers are 16-byte aligned: the low bits carry no information.
        cdef unsigned int slot = (<uintptr_t><PyObject*>key >> 4) & (CACHE - 1)
        cdef PyObject* found
        cdef _Bucket bucket
        if self._cache_keys[slot] == <PyObject*>key:
            bucket = <_Bucket>self._cache_buckets[slot]
            bucket.refill(now)
            return bucket
        found = PyDict_GetItem(self._buckets, key)
        if found is NULL:
            bucket = _new_bucket(self._rate, self._burst, now)
            PyDict_SetItem(self._buckets, key, bucket)
        else:
            bucket = <_Bucket>found
            bucket.refill(now)
        Py_XDECREF(self._cache_keys[slot])
        Py_XDECREF(self._cache_buckets[slot])
        Py_INCREF(key)
        Py_INCREF(bucket)
        self._cache_keys[slot] = <PyObject*>key
        self._cache_buckets[slot] = <PyObject*>bucket
        return bucket

    def try_acquire(self, key, n, now):
        """Take ``n`` tokens from ``key``'s bucket if they are there; False takes nothing."""
        cdef double count = _check("n", n)
        cdef _Bucket bucket = self._bucket(key, _check("now", now))
        if count <= bucket.tokens or (count > bucket.burst and bucket.tokens >= bucket.burst):
            bucket.tokens -= count
            return True
        return False

    def try_acquire_all(self, keys, n, now):
        """Take ``n`` tokens from every bucket of ``keys``, or from none of them; see the twin."""
        cdef tuple ks = keys if type(keys) is tuple else tuple(keys)
        cdef double count = _check("n", n)
        cdef double t = _check("now", now)
        cdef Py_ssize_t i, size = len(ks)
        cdef PyObject* small[8]  # borrowed: the dict owns every bucket during this call
        cdef list many = None
        cdef _Bucket bucket
        if size > 8:
            many = [self._bucket(key, t) for key in ks]
        else:
            for i in range(size):
                bucket = self._bucket(<object>PyTuple_GET_ITEM(ks, i), t)
                small[i] = <PyObject*>bucket
        for i in range(size):
            bucket = <_Bucket>small[i] if many is None else many[i]
            if not (count <= bucket.tokens or (count > bucket.burst and bucket.tokens >= bucket.burst)):
                return False
        for i in range(size):
            bucket = <_Bucket>small[i] if many is None else many[i]
            bucket.tokens -= count
        return True

    def wait_time_all(self, keys, n, now):
        """Seconds until ``try_acquire_all(keys, n)`` would succeed: the longest wait."""
        cdef tuple ks = keys if type(keys) is tuple else tuple(keys)
        cdef double longest = 0.0, wait
        for key in ks:
            wait = self.wait_time(key, n, now)
            if wait > longest:
                longest = wait
        return longest

    def wait_time(self, key, n, now):
        """Seconds until ``try_acquire(key, n)`` would succeed (0.0: now); takes nothing."""
        cdef double count = _check("n", n)
        cdef _Bucket bucket = self._bucket(key, _check("now", now))
        cdef double need
        if count <= bucket.tokens or (count > bucket.burst and bucket.tokens >= bucket.burst):
            return 0.0
        need = count if count < bucket.burst else bucket.burst
        return (need - bucket.tokens) / bucket.rate

    def rate(self, key):
        """The current rate of ``key`` (the default rate for an unknown key)."""
        cdef object found = self._buckets.get(key)
        return self._rate if found is None else (<_Bucket>found).rate

    def decrease(self, key, now):
        """Multiplicative decrease of ``key``'s rate; the new rate."""
        cdef _Bucket bucket = self._bucket(key, _check("now", now))
        cdef double rate = bucket.rate * self._decrease
        cdef double floor = bucket.ceiling * self._floor
        bucket.rate = rate if rate > floor else floor
        return bucket.rate

    def increase(self, key, now):
        """Additive increase of ``key``'s rate, up to its ceiling; the new rate."""
        cdef _Bucket bucket = self._bucket(key, _check("now", now))
        cdef double rate = bucket.rate + bucket.ceiling * self._increase
        bucket.rate = rate if rate < bucket.ceiling else bucket.ceiling
        return bucket.rate

    def set_rate(self, key, rate, now):
        """Set ``key``'s current rate (a learned one), kept within [floor, ceiling]; the new rate."""
        cdef double r = _check("rate", rate, True)
        cdef _Bucket bucket = self._bucket(key, _check("now", now))
        cdef double floor = bucket.ceiling * self._floor
        r = r if r < bucket.ceiling else bucket.ceiling
        bucket.rate = r if r > floor else floor
        return bucket.rate
