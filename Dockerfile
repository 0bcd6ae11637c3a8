# escalation-bot in a container: slim Python, a non-root user, `escalation-bot run` by default.
# Any other command of the bot runs the same way: `docker compose run --rm bot-1 check`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY storage ./storage
RUN pip install . && useradd --create-home --uid 10001 escalations

USER escalations
WORKDIR /home/escalations
EXPOSE 3000
ENTRYPOINT ["escalation-bot"]
CMD ["run"]
