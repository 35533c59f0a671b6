# One image for the web app (gunicorn, static files served by WhiteNoise), the Celery worker
# and beat: docker-compose.yml runs it with a different command for each. Settings come from
# the environment (.env.example lists every variable).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
WORKDIR /app

# The dependencies first, so a code change does not reinstall them: the runtime lock file,
# every package at its version, hash-checked, none built from source but lunar-python and
# jieba, which ship no wheel (bin/lock writes it from
# pyproject.toml; the project itself is not an installed package). They provide gunicorn and
# celery.
COPY requirements/runtime.txt requirements/
RUN pip install --require-hashes --no-deps --only-binary :all: --no-binary lunar-python,jieba -r requirements/runtime.txt

COPY . .

# Static files are collected into the image, compressed under content-hashed names. No
# database or secret is needed for that; this key exists only during this step.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-at-build-time-only \
    VAR_DIR=/tmp/build-var STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --no-input -v0 \
    && rm -rf /tmp/build-var

# Uploads (MEDIA_ROOT) and beat's schedule (VAR_DIR) live under /srv/qihu; docker-compose.yml
# puts the uploads on a volume.
RUN useradd --system --uid 10001 --home-dir /srv/qihu qihu \
    && mkdir -p /srv/qihu/var /srv/qihu/media \
    && chown -R qihu /srv/qihu
USER qihu
ENV DJANGO_DEBUG=false \
    VAR_DIR=/srv/qihu/var \
    MEDIA_ROOT=/srv/qihu/media \
    STATIC_ROOT=/app/staticfiles

EXPOSE 8000
# gunicorn reads its number of workers from WEB_CONCURRENCY.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--timeout", "60"]
